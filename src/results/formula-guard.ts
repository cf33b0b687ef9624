/**
 * The spreadsheet formula guard (OWASP "CSV injection"), shared by every tabular format the
 * service writes (CSV; any spreadsheet format writes its text cells through the same function).
 *
 * A spreadsheet may run a text cell as a formula when it starts with `=`, `+`, `-` or `@`, and
 * programs differ in what they skip before looking: leading spaces, a no-break or ideographic
 * space, a byte-order mark, a line feed; some read the full-width forms (＝ ＋ － ＠, and the small
 * forms ﹦ ﹢ ﹣) as their ASCII twins after NFKC normalisation. A cell that starts with tab, CR or
 * LF, or whose first character after any leading whitespace or BOM is one of those signs, gets a
 * leading single quote, which every spreadsheet shows as text. (`\s` in JavaScript covers space,
 * tab, CR, LF, no-break space, ideographic space, the other Unicode spaces and the BOM.)
 */
const FORMULA_START = /^(?:[\t\r\n]|\s*[=+\-@\uFF1D\uFF0B\uFF0D\uFF20\uFE66\uFE62\uFE63])/;

/** Whether a spreadsheet could read this text cell as a formula. */
export function looksLikeFormula(text: string): boolean {
  return FORMULA_START.test(text);
}

/** A text cell a spreadsheet could read as a formula, made inert with a leading single quote. */
export function neutraliseFormula(text: string): string {
  return looksLikeFormula(text) ? `'${text}` : text;
}
