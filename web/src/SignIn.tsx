import { useEffect, useRef, useState } from 'preact/hooks';

export function SignIn(props: { onSignIn(token: string): void; reason: string | null }) {
  const [value, setValue] = useState('');
  const [problem, setProblem] = useState<string | null>(null);
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => heading.current?.focus(), []);

  const submit = (event: Event) => {
    event.preventDefault();
    const token = value.trim();
    // A JWT is three base64url parts; anything else is a paste of the wrong thing.
    if (!/^[\w-]+\.[\w-]+\.[\w-]+$/.test(token)) {
      setProblem('That is not a token: paste the whole value after "#token=" or CHURNLINE_TOKEN=.');
      return;
    }
    props.onSignIn(token);
  };

  return (
    <section class="panel narrow" aria-labelledby="sign-in-title">
      <h1 id="sign-in-title" tabIndex={-1} ref={heading}>
        Sign in
      </h1>
      {props.reason && (
        <div class="error" role="alert">
          <p>
            {/expire/i.test(props.reason)
              ? 'Your access token has expired, so you are signed out.'
              : 'Your access token was refused, so you are signed out: it was revoked, or made for another Churnline server.'}{' '}
            Open a fresh dashboard link (<code>npm start</code> prints one) or paste a new token.
          </p>
          <details>
            <summary>Technical detail</summary>
            {props.reason}
          </details>
        </div>
      )}
      <p>
        Open the dashboard link that <code>npm start</code> (or <code>churnline serve</code>)
        prints, or paste a token made with <code>churnline token create --user &lt;id&gt;</code>.
      </p>
      <form onSubmit={submit}>
        <label for="token">Access token</label>
        <input
          id="token"
          type="password"
          autoComplete="off"
          spellcheck={false}
          value={value}
          aria-invalid={problem !== null}
          aria-describedby={problem ? 'token-problem' : undefined}
          onInput={(event) => setValue(event.currentTarget.value)}
        />
        {problem && (
          <p id="token-problem" class="error" role="alert">
            {problem}
          </p>
        )}
        <button type="submit">Sign in</button>
      </form>
    </section>
  );
}
