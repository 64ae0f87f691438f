import { useEffect, useState } from 'preact/hooks';
import { type ApiFailure, whenUnauthorised } from './api';
import { clearToken, readToken, saveToken, takeTokenFromLocation } from './auth';
import { PredictionPage } from './PredictionPage';
import { PredictionsPage } from './PredictionsPage';
import { onLinkClick, useRoute } from './router';
import { SignIn } from './SignIn';

// Before the first render, so the token never sits in the address bar while the app runs.
takeTokenFromLocation();

export function App() {
  const [token, setToken] = useState(readToken);
  const [signedOutBecause, setSignedOutBecause] = useState<string | null>(null);
  const route = useRoute();

  useEffect(() => {
    whenUnauthorised((failure: ApiFailure) => {
      clearToken();
      setToken(null);
      setSignedOutBecause(failure.message);
    });
  }, []);

  const signIn = (value: string) => {
    saveToken(value);
    setSignedOutBecause(null);
    setToken(readToken());
  };
  const signOut = () => {
    clearToken();
    setSignedOutBecause(null);
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
        {token && (
          <button type="button" class="secondary" onClick={signOut}>
            Sign out
          </button>
        )}
      </header>
      <main id="main">
        {!token ? (
          <SignIn onSignIn={signIn} reason={signedOutBecause} />
        ) : route.page === 'prediction' ? (
          <PredictionPage key={route.id} id={route.id} />
        ) : (
          <PredictionsPage />
        )}
      </main>
    </>
  );
}
