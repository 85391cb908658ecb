// Reading a JSON document that a person named on the command line: one
// error for every command, with the file and what is wrong with it.

import { readFile } from 'node:fs/promises'

/** The parsed document; throws `FILE: no such file`, `FILE: not JSON (…)` or the read error. */
export async function readJsonFile (file: string): Promise<unknown> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    throw new Error(`${file}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'a directory, not a file' : (err as Error).message}`)
  }
  try {
    return JSON.parse(text)
  } catch (err) {
    throw new Error(`${file}: not JSON (${(err as Error).message})`)
  }
}
