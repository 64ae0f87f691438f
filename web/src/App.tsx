import { Fragment } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { type ApiFailure, whenUnauthorised } from './api';
import {
  clearToken,
  type LinkSignIn,
  readToken,
  saveToken,
  takeTokenFromLocation,
  tokenSubject,
} from './auth';
import { CustomerPage } from './CustomerPage';
import { ModelPage } from './ModelPage';
import { ModelsPage } from './ModelsPage';
import { PlaybookPage } from './PlaybookPage';
import { PredictionPage } from './PredictionPage';
import { PredictionsPage } from './PredictionsPage';
import { onLinkClick, type Route, useRoute } from './router';
import { SignIn } from './SignIn';
import { TrainPage } from './TrainPage';
import { UploadPage } from './UploadPage';
import { UsagePage } from './UsagePage';
import { WebhooksPage } from './WebhooksPage';

// Before the first render, so the token never sits in the address bar while the app runs.
const fromLoad = takeTokenFromLocation();

/** How a token's user is shown: its `sub` claim, decoded here for display only. */
function who(token: string): string {
  return tokenSubject(token) ?? 'a token that names no user';
}

export function App() {
  const [token, setToken] = useState(readToken);
  const [signedOutBecause, setSignedOutBecause] = useState<string | null>(null);
  // A link's token waiting for the user to choose it over the signed-in one.
  const [offered, setOffered] = useState<string | null>(
    fromLoad.kind === 'choose' ? fromLoad.token : null,
  );
  const [malformedLink, setMalformedLink] = useState(fromLoad.kind === 'malformed');
  const route = useRoute();

  useEffect(() => {
    whenUnauthorised((failure: ApiFailure) => {
      clearToken();
      setToken(null);
      setOffered(null);
      setSignedOutBecause(failure.message);
    });
    // A link opened in this tab while the dashboard is open changes only the fragment: no reload.
    const onHashChange = () => {
      const taken: LinkSignIn = takeTokenFromLocation();
      if (taken.kind === 'none') return;
      setMalformedLink(taken.kind === 'malformed');
      setOffered(taken.kind === 'choose' ? taken.token : null);
      if (taken.kind === 'signed-in') {
        setSignedOutBecause(null);
        setToken(readToken());
      }
    };
    window.addEventListener('hashchange', onHashChange);
    return () => window.removeEventListener('hashchange', onHashChange);
  }, []);

  const signIn = (value: string) => {
    saveToken(value);
    setSignedOutBecause(null);
    setMalformedLink(false);
    setToken(readToken());
  };
  const signOut = () => {
    clearToken();
    setSignedOutBecause(null);
    setOffered(null);
    setToken(null);
  };

  return (
    <>
      <a class="skip-link" href="#main">
        Skip to content
      </a>
      <header class="top">
        <a class="brand" href="/" onClick={onLinkClick}>
          Churnline
        </a>
        {token && <MainNav route={route} />}
        {token && (
          <div class="account">
            <span class="signed-in-as">Signed in as {who(token)}</span>
            <button type="button" class="secondary" onClick={signOut}>
              Sign out
            </button>
          </div>
        )}
      </header>
      <main id="main">
        {malformedLink && (
          <p class="notice" role="status">
            The sign-in link was malformed (cut short or changed when it was copied), so it was
            ignored.{' '}
            <button type="button" class="link-button" onClick={() => setMalformedLink(false)}>
              Dismiss
            </button>
          </p>
        )}
        {/* Keyed by the token: a switch of user starts every page afresh, nothing carried over. */}
        <Fragment key={token ?? ''}>
          {!token ? (
            <SignIn onSignIn={signIn} reason={signedOutBecause} />
          ) : offered ? (
            <SwitchAccount
              current={token}
              offered={offered}
              onSwitch={() => {
                setOffered(null);
                signIn(offered);
              }}
              onStay={() => setOffered(null)}
            />
          ) : (
            <Page route={route} />
          )}
        </Fragment>
      </main>
    </>
  );
}

/** The page of a route, keyed so that another id starts it afresh. */
function Page({ route }: { route: Route }) {
  switch (route.page) {
    case 'prediction':
      return <PredictionPage key={route.id} id={route.id} />;
    case 'upload':
      return (
        <UploadPage key={`${route.id}:${route.modelId}`} id={route.id} modelId={route.modelId} />
      );
    case 'train':
      return <TrainPage key={route.uploadId} uploadId={route.uploadId} />;
    case 'models':
      return <ModelsPage />;
    case 'playbook':
      return <PlaybookPage />;
    case 'customer':
      return (
        <CustomerPage key={`${route.id}:${route.modelId}`} id={route.id} modelId={route.modelId} />
      );
    case 'webhooks':
      return <WebhooksPage />;
    case 'usage':
      return <UsagePage />;
    case 'model':
      return <ModelPage key={route.id} id={route.id} uploadId={route.uploadId} />;
    case 'list':
      return <PredictionsPage />;
  }
}

/** The places to start from; the current one is marked for screen readers and in style. */
function MainNav({ route }: { route: Route }) {
  const modelsSide = route.page === 'models' || route.page === 'model';
  return (
    <nav class="main-nav" aria-label="Main">
      <a href="/" onClick={onLinkClick} aria-current={route.page === 'list' ? 'page' : undefined}>
        Predictions
      </a>
      <a
        href="/models"
        onClick={onLinkClick}
        aria-current={route.page === 'models' ? 'page' : modelsSide ? 'true' : undefined}
      >
        Models
      </a>
      <a
        href="/playbook"
        onClick={onLinkClick}
        aria-current={route.page === 'playbook' ? 'page' : undefined}
      >
        Playbook
      </a>
      <a
        href="/webhooks"
        onClick={onLinkClick}
        aria-current={route.page === 'webhooks' ? 'page' : undefined}
      >
        Webhooks
      </a>
      <a
        href="/usage"
        onClick={onLinkClick}
        aria-current={route.page === 'usage' ? 'page' : undefined}
      >
        Usage
      </a>
    </nav>
  );
}

/**
 * The choice a sign-in link brings when someone else is signed in. Anyone can link here with a
 * token of their own; switching silently would put the user's next upload in that account.
 */
function SwitchAccount(props: {
  current: string;
  offered: string;
  onSwitch(): void;
  onStay(): void;
}) {
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    heading.current?.focus();
    document.title = 'Switch account? - Churnline';
  }, []);
  return (
    <section class="panel narrow" aria-labelledby="switch-title">
      <h1 id="switch-title" tabIndex={-1} ref={heading}>
        Switch account?
      </h1>
      <p>
        This link signs you in as {who(props.offered)}; you are signed in as {who(props.current)}.
      </p>
      <p class="hint">
        Switch only if you opened this link to sign in as that user: what you upload afterwards goes
        to that account. If someone sent you the link, stay.
      </p>
      <div class="choice">
        <button type="button" onClick={props.onSwitch}>
          Switch
        </button>
        <button type="button" class="secondary" onClick={props.onStay}>
          Stay
        </button>
      </div>
    </section>
  );
}
