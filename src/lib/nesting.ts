/**
 * How deep a request document may nest. Real documents stay far below it (an application spec is under
 * ten levels); a deeper one is either a mistake or an attempt to make recursive code (JSON.stringify,
 * the validators, the YAML mapper) run out of stack, which used to end in a 500.
 */
export const MAX_NESTING_DEPTH = 64;

export const nestingMessage = (what: string) => `${what}: nested deeper than ${MAX_NESTING_DEPTH} levels (the limit for request documents)`;

/**
 * True when JSON text opens more than `limit` arrays/objects inside one another. A single pass over the
 * characters, strings skipped, no parse: cheap enough for every request body, and it runs before
 * JSON.parse builds the deep structure. Malformed text is left to the parser to report.
 */
export function jsonTextTooDeep(text: string, limit = MAX_NESTING_DEPTH): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (inString) {
      if (ch === 92 /* \ */) i++;
      else if (ch === 34 /* " */) inString = false;
    } else if (ch === 34) {
      inString = true;
    } else if (ch === 123 /* { */ || ch === 91 /* [ */) {
      if (++depth > limit) return true;
    } else if (ch === 125 /* } */ || ch === 93 /* ] */) {
      depth--;
    }
  }
  return false;
}

/**
 * True when a parsed value (a YAML document) nests objects/arrays more than `limit` deep. Iterative, so a
 * hostile document cannot use it to exhaust the stack either.
 */
export function valueTooDeep(value: unknown, limit = MAX_NESTING_DEPTH): boolean {
  const stack: Array<[unknown, number]> = [[value, 0]];
  // YAML aliases share nodes. A node already walked from a position at least as deep needs no second
  // walk; reached deeper than before, it is walked again (its subtree now ends deeper).
  const walkedAt = new Map<object, number>();
  while (stack.length) {
    const [v, d] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (d + 1 > limit) return true;
    if ((walkedAt.get(v) ?? -1) >= d) continue;
    walkedAt.set(v, d);
    for (const child of Array.isArray(v) ? v : Object.values(v)) stack.push([child, d + 1]);
  }
  return false;
}
