/**
 * One input per parameter kind (see form.ts): ranges as two bounds with their operators, include/
 * exclude lists as tag inputs, enums as selects, numbers, booleans, text, JSON for anything else.
 * Every input is labelled; errors are tied to their inputs with aria-describedby.
 */
import { useState } from "preact/hooks";
import type { Field, FieldValue, ListValue, LowerOp, RangeValue, UpperOp } from "./form.ts";

export interface FieldProps {
  field: Field;
  value: FieldValue;
  /** Messages for this parameter (client-side or from the server's problem `errors`). */
  errors: string[];
  /** The paths those messages name ("comments.$gt"), to mark the one input at fault. */
  paths: string[];
  onChange(value: FieldValue): void;
}

const errorId = (name: string) => `error-${name}`;
const hintId = (name: string) => `hint-${name}`;

function describedBy(field: Field, errors: string[]): string | undefined {
  const ids = [field.description ? hintId(field.name) : "", errors.length ? errorId(field.name) : ""].filter(Boolean);
  return ids.length ? ids.join(" ") : undefined;
}

function Messages({ field, errors }: { field: Field; errors: string[] }) {
  return (
    <>
      {field.description ? (
        <p class="hint" id={hintId(field.name)}>
          {field.description}
        </p>
      ) : null}
      {errors.length ? (
        <p class="field-error" id={errorId(field.name)} data-field={field.name}>
          {errors.join("; ")}
        </p>
      ) : null}
    </>
  );
}

export function FieldInput(props: FieldProps) {
  const { field, errors } = props;
  const invalid = errors.length > 0 ? true : undefined;
  const id = `field-${field.name}`;
  switch (field.kind) {
    case "range":
      return <RangeInput {...props} />;
    case "list":
      return <ListInput {...props} />;
    case "enum":
      return (
        <div class="field">
          <label for={id}>{field.name}</label>
          <select
            id={id}
            value={props.value as string}
            aria-invalid={invalid}
            aria-describedby={describedBy(field, errors)}
            onChange={(e) => props.onChange(e.currentTarget.value)}
          >
            {field.default === undefined ? <option value="">(any)</option> : null}
            {field.options.map((option) => (
              <option key={option} value={option}>
                {option}
              </option>
            ))}
          </select>
          <Messages field={field} errors={errors} />
        </div>
      );
    case "boolean":
      return (
        <div class="field field-check">
          <input
            id={id}
            type="checkbox"
            checked={props.value === true}
            aria-describedby={describedBy(field, errors)}
            onChange={(e) => props.onChange(e.currentTarget.checked)}
          />
          <label for={id}>{field.name}</label>
          <Messages field={field} errors={errors} />
        </div>
      );
    case "number":
      return (
        <div class="field">
          <label for={id}>{field.name}</label>
          <input
            id={id}
            type="number"
            inputMode={field.integer ? "numeric" : "decimal"}
            step={field.integer ? 1 : "any"}
            min={field.minimum}
            max={field.maximum}
            value={props.value as string}
            aria-invalid={invalid}
            aria-describedby={describedBy(field, errors)}
            onInput={(e) => props.onChange(e.currentTarget.value)}
          />
          <Messages field={field} errors={errors} />
        </div>
      );
    default:
      return (
        <div class="field">
          <label for={id}>
            {field.name}
            {field.kind === "json" ? " (JSON)" : ""}
          </label>
          <input
            id={id}
            type="text"
            value={props.value as string}
            aria-invalid={invalid}
            aria-describedby={describedBy(field, errors)}
            onInput={(e) => props.onChange(e.currentTarget.value)}
          />
          <Messages field={field} errors={errors} />
        </div>
      );
  }
}

const OPERATORS: Record<LowerOp | UpperOp, string> = { $gt: ">", $gte: "≥", $lt: "<", $lte: "≤" };

function RangeInput({ field, value, errors, paths, onChange }: FieldProps) {
  if (field.kind !== "range") return null;
  const range = value as RangeValue;
  // A message about one bound marks that bound; one about the whole range marks both.
  const faulty = (side: "low" | "high") =>
    paths.some((p) => p === field.name || (side === "low" ? /\.\$gte?$/ : /\.\$lte?$/).test(p)) ? true : undefined;
  const type: string = field.dates ? "text" : "number";
  const placeholder = field.dates ? "year or YYYY-MM-DD" : "";
  const bound = (side: "low" | "high") => {
    const opKey = side === "low" ? "lowOp" : "highOp";
    const ops = side === "low" ? (["$gt", "$gte"] as const) : (["$lt", "$lte"] as const);
    const words = side === "low" ? "lower bound" : "upper bound";
    return (
      <div class="bound">
        <label for={`field-${field.name}-${side}-op`} class="visually-hidden">
          {`${field.name} ${words} operator`}
        </label>
        <select
          id={`field-${field.name}-${side}-op`}
          value={range[opKey]}
          onChange={(e) => onChange({ ...range, [opKey]: e.currentTarget.value })}
        >
          {ops.map((op) => (
            <option key={op} value={op}>
              {OPERATORS[op]}
            </option>
          ))}
        </select>
        <label for={`field-${field.name}-${side}`} class="visually-hidden">
          {`${field.name} ${words}`}
        </label>
        <input
          id={`field-${field.name}-${side}`}
          type={type as "text"}
          step={type === "number" ? "any" : undefined}
          placeholder={placeholder || words}
          value={range[side]}
          aria-invalid={faulty(side)}
          aria-describedby={describedBy(field, errors)}
          onInput={(e) => onChange({ ...range, [side]: e.currentTarget.value })}
        />
      </div>
    );
  };
  return (
    <fieldset class="field range">
      <legend>{field.name}</legend>
      <div class="bounds">
        {bound("low")}
        <span aria-hidden="true">and</span>
        {bound("high")}
      </div>
      <Messages field={field} errors={errors} />
    </fieldset>
  );
}

function ListInput({ field, value, errors, onChange }: FieldProps) {
  const list = value as ListValue;
  return (
    <fieldset class="field list">
      <legend>{field.name}</legend>
      <div class="tag-inputs">
        <TagInput
          id={`field-${field.name}-include`}
          label={`Include ${field.name}`}
          tags={list.include}
          invalid={errors.length > 0}
          describedBy={describedBy(field, errors)}
          onChange={(include) => onChange({ ...list, include })}
        />
        <TagInput
          id={`field-${field.name}-exclude`}
          label={`Exclude ${field.name}`}
          tags={list.exclude}
          invalid={errors.length > 0}
          describedBy={describedBy(field, errors)}
          onChange={(exclude) => onChange({ ...list, exclude })}
        />
      </div>
      <Messages field={field} errors={errors} />
    </fieldset>
  );
}

/** Values as removable tags: Enter (or a comma) adds what is typed; Backspace in an empty box removes the last. */
function TagInput(props: {
  id: string;
  label: string;
  tags: string[];
  invalid: boolean;
  describedBy?: string;
  onChange(tags: string[]): void;
}) {
  const [text, setText] = useState("");
  const add = () => {
    const value = text.trim();
    if (value && !props.tags.includes(value)) props.onChange([...props.tags, value]);
    setText("");
  };
  return (
    <div class="tag-input">
      <label for={props.id}>{props.label}</label>
      {props.tags.length ? (
        <ul class="tags" aria-label={`${props.label}: chosen values`}>
          {props.tags.map((tag) => (
            <li key={tag}>
              {tag}
              <button type="button" aria-label={`Remove ${tag}`} onClick={() => props.onChange(props.tags.filter((t) => t !== tag))}>
                ×
              </button>
            </li>
          ))}
        </ul>
      ) : null}
      <input
        id={props.id}
        type="text"
        value={text}
        placeholder="type a value, then Enter"
        aria-invalid={props.invalid ? true : undefined}
        aria-describedby={props.describedBy}
        onInput={(e) => {
          const typed = e.currentTarget.value;
          if (typed.endsWith(",")) {
            const value = typed.slice(0, -1).trim();
            if (value && !props.tags.includes(value)) props.onChange([...props.tags, value]);
            setText("");
          } else setText(typed);
        }}
        onKeyDown={(e) => {
          if (e.key === "Enter") {
            e.preventDefault();
            add();
          } else if (e.key === "Backspace" && text === "" && props.tags.length) props.onChange(props.tags.slice(0, -1));
        }}
        onBlur={add}
      />
    </div>
  );
}
