// tokjs.mjs: the same as tok_dump.c with Hugging Face's tokenizers.js (@huggingface/tokenizers):
// ids for each stdin line ("text" or "text<TAB>pair"). Usage: node tokjs.mjs TOKENIZER_JSON
import { Tokenizer } from "@huggingface/tokenizers";
import fs from "fs";

const tok = new Tokenizer(JSON.parse(fs.readFileSync(process.argv[2], "utf8")), {});
const lines = fs.readFileSync(0, "utf8").split("\n");
if (lines[lines.length - 1] === "") lines.pop();
const out = lines.map((line) => {
  const tab = line.indexOf("\t");
  const text = tab < 0 ? line : line.slice(0, tab);
  const pair = tab < 0 ? null : line.slice(tab + 1);
  try {
    return tok.encode(text, { text_pair: pair }).ids.join(",");
  } catch (e) {
    return "ERR " + e.message;
  }
});
process.stdout.write(out.join("\n") + "\n");
