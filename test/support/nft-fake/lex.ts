// Tokens of an nft script: words, quoted strings and the punctuation that shapes statements
// ({ } ; , and line ends). `#` starts a comment to the end of the line (outside quotes).

export interface Token {
  /** A word (`@name`, `10.0.0.0/8`, `fd00::1`, `:` alone), a quoted string with its quotes, or one of `{ } ; , \n`. */
  text: string;
  line: number;
  col: number;
}

export interface Where { line: number; col: number; end: number }

/** A script nft cannot parse: nothing of it is applied. */
export class NftSyntaxError extends Error {
  readonly at: Where;
  constructor(message: string, at: Where) {
    super(message);
    this.at = at;
  }
}

const PUNCT = new Set(['{', '}', ';', ',']);

export function lex(script: string): Token[] {
  const out: Token[] = [];
  let line = 1, lineStart = 0, i = 0;
  while (i < script.length) {
    const c = script[i];
    if (c === '\n') {
      out.push({ text: '\n', line, col: i - lineStart + 1 });
      line++;
      lineStart = ++i;
    } else if (c === ' ' || c === '\t' || c === '\r') {
      i++;
    } else if (c === '#') {
      const col = i - lineStart + 1;
      while (i < script.length && script[i] !== '\n') i++;
      // nft 1.0.6: a comment must end with a line end, not with the script.
      if (i === script.length) throw new NftSyntaxError('syntax error, unexpected junk, expecting end of file or newline or semicolon', { line, col, end: col });
    } else if (PUNCT.has(c)) {
      out.push({ text: c, line, col: i - lineStart + 1 });
      i++;
    } else if (c === '"') {
      const start = i++;
      while (i < script.length && script[i] !== '"' && script[i] !== '\n') i++;
      i++;
      out.push({ text: script.slice(start, i), line, col: start - lineStart + 1 });
    } else {
      const start = i;
      while (i < script.length && !/[\s{};,#"]/.test(script[i])) i++;
      out.push({ text: script.slice(start, i), line, col: start - lineStart + 1 });
    }
  }
  return out;
}
