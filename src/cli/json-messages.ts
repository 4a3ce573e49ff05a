/**
 * Docker's JSON message streams (image import / create): JSON objects one after another,
 * usually one per line, sometimes back to back. Split them without assuming newlines.
 */
import { CliError } from './errors.js';

export interface JsonMessage {
  status?: string;
  id?: string;
  error?: string;
  errorDetail?: { message?: string };
  [key: string]: unknown;
}

export function splitJsonValues(text: string): unknown[] {
  const out: unknown[] = [];
  let depth = 0;
  let start = -1;
  let inString = false;
  let escaped = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (inString) {
      if (escaped) escaped = false;
      else if (c === '\\') escaped = true;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    else if (c === '{' || c === '[') {
      if (depth === 0) start = i;
      depth++;
    } else if (c === '}' || c === ']') {
      depth--;
      if (depth === 0 && start !== -1) {
        out.push(JSON.parse(text.slice(start, i + 1)));
        start = -1;
      }
    }
  }
  return out;
}

/**
 * A whole JSON message answer (import, load): its messages, once none of them is an error; the
 * first error message (`errorDetail.message` or `error`) is the command's error line.
 */
export function answerMessages(text: string, what: string): JsonMessage[] {
  let messages: JsonMessage[];
  try {
    messages = splitJsonValues(text) as JsonMessage[];
  } catch {
    throw new CliError(`the daemon sent an invalid answer to the ${what}: ${text.slice(0, 200)}`);
  }
  for (const m of messages) {
    const error = m.errorDetail?.message ?? m.error;
    if (error) throw new CliError(error);
  }
  return messages;
}
