/**
 * @internal Refuses an options argument that is neither an object nor absent. A string, a number or an array given
 * where the options go (a setting read from a file, an argument out of place in plain JavaScript) has none of the
 * fields read from it, so it would be taken for no options: every setting its default, and the mistake unseen.
 * `undefined` and `null` (a setting read as none) are no options.
 */
export const checkOptions = (owner: string, input: unknown): void => {
  if (input === undefined || input === null) return
  if (typeof input !== "object" || Array.isArray(input)) {
    throw new RangeError(`${owner}: options (${describe(input)}) must be an object`)
  }
}

const describe = (input: unknown): string =>
  Array.isArray(input) ? "an array" : typeof input === "string" ? JSON.stringify(input).slice(0, 40) : typeof input
