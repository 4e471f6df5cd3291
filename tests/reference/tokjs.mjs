// tokjs.mjs: the same as tok_dump.c with Hugging Face's tokenizers.js (@huggingface/tokenizers):
// ids for each stdin line ("text" or "text<TAB>pair"), with `types` also ";" and the token type
// ids. Usage: node tokjs.mjs TOKENIZER_JSON [types]
import { Tokenizer } from "@huggingface/tokenizers";
import fs from "fs";

const tok = new Tokenizer(JSON.parse(fs.readFileSync(process.argv[2], "utf8")), {});
const types = process.argv[3] === "types";
const lines = fs.readFileSync(0, "utf8").split("\n");
if (lines[lines.length - 1] === "") lines.pop();
const out = lines.map((line) => {
  const tab = line.indexOf("\t");
  const text = tab < 0 ? line : line.slice(0, tab);
  const pair = tab < 0 ? null : line.slice(tab + 1);
  try {
    const e = tok.encode(text, { text_pair: pair, return_token_type_ids: types });
    return e.ids.join(",") + (types ? ";" + e.token_type_ids.join(",") : "");
  } catch (e) {
    return "ERR " + e.message;
  }
});
process.stdout.write(out.join("\n") + "\n");
