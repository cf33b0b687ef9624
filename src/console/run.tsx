/**
 * Run: the form for one report, generated from its parameter schema and pre-filled with its
 * example; checked in the browser against the same schema before sending; the server's problem
 * `errors` shown next to the fields they name.
 */
import { useEffect, useMemo, useState } from "preact/hooks";
import { ApiError, postJson, reports, type ReportDescription, type RequestView } from "./api.ts";
import { FieldInput } from "./fields.tsx";
import { bodyFromState, fieldsOf, parameterOf, stateFromBody, validate, type FieldError, type FormState } from "./form.ts";
import { useAuthVersion, useLoad } from "./hooks.ts";
import { Failure } from "./widgets.tsx";

export function RunView({ name }: { name: string }) {
  const version = useAuthVersion();
  const loaded = useLoad(() => reports(), [version]);
  useEffect(() => {
    document.title = `Run ${name} · mongo-reports`;
  }, [name]);
  if (loaded.state === "loading") return <p aria-busy="true">Loading…</p>;
  if (loaded.state === "failed") return <Failure error={loaded.error} />;
  const report = loaded.value.find((r) => r.name === name);
  if (!report) {
    return (
      <>
        <h1 tabIndex={-1}>Unknown report</h1>
        <p>
          No report is named “{name}”. <a href="#/">See the catalogue</a>.
        </p>
      </>
    );
  }
  return <RunForm key={report.name} report={report} />;
}

const OUTPUTS = [
  ["json", "Rows in the console (json)"],
  ["csv", "CSV file (csv)"],
  ["both", "Both"],
  ["xlsx", "Excel file (xlsx)"],
  ["parquet", "Parquet file (parquet)"],
  ["ndjson", "NDJSON file (ndjson)"],
] as const;

function RunForm({ report }: { report: ReportDescription }) {
  const fields = useMemo(() => fieldsOf(report.parameters), [report]);
  const [state, setState] = useState<FormState>(() => stateFromBody(fields, report.example));
  const [output, setOutput] = useState<string>(typeof report.example.output === "string" ? report.example.output : "json");
  const [errors, setErrors] = useState<FieldError[]>([]);
  const [failure, setFailure] = useState<Error | null>(null);
  const [sending, setSending] = useState(false);

  const errorsFor = (parameter: string) => errors.filter((e) => parameterOf(e.field) === parameter).map((e) => message(e));
  const general = errors.filter((e) => !fields.some((f) => f.name === parameterOf(e.field)));

  const submit = async (event: Event) => {
    event.preventDefault();
    setFailure(null);
    const { report_name: _name, output: _output, ...params } = bodyFromState(report.name, output, fields, state);
    const found = validate(report.parameters, params);
    setErrors(found);
    if (found.length) return focusFirstError();
    setSending(true);
    try {
      const created = await postJson<RequestView>("/v1/reports", bodyFromState(report.name, output, fields, state));
      location.hash = `#/requests/${created.id}`;
    } catch (error) {
      const problem = error instanceof ApiError ? error.problem : null;
      if (problem?.errors?.length) {
        setErrors(problem.errors);
        focusFirstError();
      }
      setFailure(error as Error);
    } finally {
      setSending(false);
    }
  };

  return (
    <>
      <h1 tabIndex={-1}>{report.name}</h1>
      <p>{report.description}</p>
      <p class="muted">
        Collection <code>{report.collection}</code> · columns {report.columns.map((c) => c.name).join(", ")}
      </p>
      <form class="run-form" onSubmit={submit} noValidate aria-describedby="form-note">
        <p id="form-note" class="muted">
          Pre-filled with the report's example. Empty fields are left out.
        </p>
        {failure ? <Failure error={failure} /> : null}
        {general.length ? (
          <ul class="field-error" role="alert">
            {general.map((e) => (
              <li key={e.field + e.message}>{message(e)}</li>
            ))}
          </ul>
        ) : null}
        {fields.map((field) => (
          <FieldInput
            key={field.name}
            field={field}
            value={state[field.name]}
            errors={errorsFor(field.name)}
            paths={errors.filter((e) => parameterOf(e.field) === field.name).map((e) => e.field)}
            onChange={(value) => setState({ ...state, [field.name]: value })}
          />
        ))}
        <fieldset class="field">
          <legend>Output</legend>
          <div class="radios">
            {OUTPUTS.map(([value, label]) => (
              <label key={value} class="radio">
                <input type="radio" name="output" value={value} checked={output === value} onChange={() => setOutput(value)} />
                {label}
              </label>
            ))}
          </div>
        </fieldset>
        <div class="actions">
          <button type="submit" class="primary" disabled={sending}>
            {sending ? "Sending…" : "Run report"}
          </button>
          <button
            type="button"
            onClick={() => {
              setState(stateFromBody(fields, report.example));
              setErrors([]);
              setFailure(null);
            }}
          >
            Reset to the example
          </button>
        </div>
      </form>
    </>
  );
}

/** "comments.$gt: Expected a number" reads better without the parameter's own name. */
function message(error: FieldError): string {
  const rest = error.field.slice(parameterOf(error.field).length).replace(/^\./, "");
  return rest ? `${rest}: ${error.message}` : error.message;
}

/** Moves focus to the first invalid input, after the render that marks it. */
function focusFirstError(): void {
  setTimeout(() => document.querySelector<HTMLElement>(`[aria-invalid="true"]`)?.focus(), 0);
}
