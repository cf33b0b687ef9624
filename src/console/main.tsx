/**
 * The console's shell: header and navigation, the API-key form when the service asks for one,
 * and the view for the current hash route. Focus moves to each new view's heading so keyboard
 * and screen-reader users land on what changed.
 */
import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { apiKey, datasetNote, isKeyNeeded, setApiKey } from "./api.ts";
import { CatalogueView } from "./catalogue.tsx";
import { HistoryView } from "./history.tsx";
import { useAccessChanges, useRoute, type Route } from "./hooks.ts";
import { RequestViewPage } from "./request.tsx";
import { RunView } from "./run.tsx";

function KeyForm() {
  const [key, setKey] = useState("");
  return (
    <section class="key-form" aria-labelledby="key-title">
      <h2 id="key-title">API key needed</h2>
      <p>This service needs an API key. It is kept for this tab only and sent in a request header, never in a link.</p>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          if (key.trim()) setApiKey(key.trim());
        }}
      >
        <label for="api-key">API key</label>
        <input id="api-key" type="password" autoComplete="off" value={key} onInput={(e) => setKey(e.currentTarget.value)} required />
        <button type="submit">Use this key</button>
      </form>
    </section>
  );
}

/** A line on every page saying what the data is, when the deployment says (the demo data under npm start). */
function DatasetBanner() {
  const [note, setNote] = useState<string | undefined>();
  useEffect(() => {
    datasetNote().then(setNote, () => setNote(undefined));
  }, []);
  return note ? (
    <p class="dataset-note" role="note">
      {note}
    </p>
  ) : null;
}

function View({ route }: { route: Route }) {
  switch (route.view) {
    case "catalogue":
      return <CatalogueView />;
    case "run":
      return <RunView name={route.name} />;
    case "request":
      return <RequestViewPage id={route.id} />;
    case "history":
      return <HistoryView />;
    default:
      return (
        <>
          <h1 tabIndex={-1}>Page not found</h1>
          <p>
            Nothing here. <a href="#/">Back to the reports</a>.
          </p>
        </>
      );
  }
}

function App() {
  const route = useRoute();
  useAccessChanges(); // the key form appears when the service asks for a key
  useEffect(() => {
    // Move focus to the new view's heading (not on the first load: the page starts at the top).
    if (document.activeElement && document.activeElement !== document.body) document.querySelector<HTMLElement>("main h1")?.focus();
  }, [route.view, (route as { id?: string }).id, (route as { name?: string }).name]);
  const current = route.view === "history" ? "history" : route.view === "missing" ? "" : "reports";
  return (
    <>
      <a class="skip" href="#content" onClick={(e) => (e.preventDefault(), document.querySelector<HTMLElement>("main h1")?.focus())}>
        Skip to content
      </a>
      <header class="top">
        <a class="brand" href="#/">
          mongo-reports
        </a>
        <nav aria-label="Main">
          <a href="#/" aria-current={current === "reports" ? "page" : undefined}>
            Reports
          </a>
          <a href="#/history" aria-current={current === "history" ? "page" : undefined}>
            History
          </a>
          <a href="/docs">API docs</a>
        </nav>
        {apiKey() ? (
          <button type="button" class="link" onClick={() => setApiKey(null)}>
            Forget API key
          </button>
        ) : null}
      </header>
      <main id="content">
        <DatasetBanner />
        {isKeyNeeded() ? <KeyForm /> : null}
        <View route={route} />
      </main>
    </>
  );
}

render(<App />, document.getElementById("app")!);
