/**
 * Hidden fields in a definition (HIDDEN_FIELDS, default `password`): a definition may not name one
 * anywhere (a column, a key of any stage or sort or index, a `$field` path). Rows are stripped of
 * them anyway (results/hidden-fields.ts), for code-defined reports and for whole documents a
 * definition passes through (`$$ROOT`); refusing them here tells the author at once.
 */
import type { DefinitionPolicy } from "./document.ts";

/** The path segments of a key or `$`/`$$` field reference: "$$ROOT.user.password" → ROOT, user, password. */
function segments(path: string): string[] {
  return path.replace(/^\$+/, "").split(".");
}

/** Every place in `value` (a definition, or part of one) that names a hidden field. */
export function hiddenFieldProblems(value: unknown, policy: Pick<DefinitionPolicy, "hiddenFields">, at = ""): string[] {
  const hidden = policy.hiddenFields;
  if (hidden.length === 0) return [];
  const names = (path: string) => segments(path).some((segment) => hidden.includes(segment));
  const problems: string[] = [];
  const walk = (node: unknown, where: string, depth: number): void => {
    if (depth > 64) return; // the definition's own depth check refuses such a document
    if (typeof node === "string") {
      if (node.startsWith("$") && names(node)) problems.push(`${where || "definition"}: ${JSON.stringify(node)} names a hidden field`);
      return;
    }
    if (node === null || typeof node !== "object") return;
    if (Array.isArray(node)) {
      node.forEach((item, i) => walk(item, `${where}[${i}]`, depth + 1));
      return;
    }
    for (const [key, inner] of Object.entries(node)) {
      const path = where ? `${where}.${key}` : key;
      if (names(key)) problems.push(`${path}: ${JSON.stringify(key)} names a hidden field (HIDDEN_FIELDS: ${hidden.join(", ")})`);
      // A column is named by its value: {"name": "password"}.
      else if (key === "name" && typeof inner === "string" && /(^|\.)columns\[\d+\]$/.test(where) && hidden.includes(inner)) {
        problems.push(`${path}: ${JSON.stringify(inner)} is a hidden field (HIDDEN_FIELDS: ${hidden.join(", ")})`);
      }
      walk(inner, path, depth + 1);
    }
  };
  walk(value, at, 0);
  return problems;
}
