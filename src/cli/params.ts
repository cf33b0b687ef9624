/**
 * `--param key=value` into a report's parameters: the value is JSON when it parses as JSON
 * (top=5, include='["Drama"]', rating='{"$gte":8}'), else the text itself; a dotted key nests
 * (rating.$gte=8 is {"rating": {"$gte": 8}}).
 */
export function parseParams(entries: readonly string[], base: Record<string, unknown> = {}): Record<string, unknown> {
  const params: Record<string, unknown> = structuredClone(base);
  for (const entry of entries) {
    const equals = entry.indexOf("=");
    if (equals <= 0) throw new Error(`--param ${JSON.stringify(entry)}: expected key=value`);
    const path = entry.slice(0, equals).split(".");
    const value = parseValue(entry.slice(equals + 1));
    let target = params;
    for (const key of path.slice(0, -1)) {
      const next = target[key];
      if (typeof next !== "object" || next === null || Array.isArray(next)) target[key] = {};
      target = target[key] as Record<string, unknown>;
    }
    target[path[path.length - 1]] = value;
  }
  return params;
}

function parseValue(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
