// Checks docs/api/openapi.yaml with @seriousme/openapi-schema-validator (OpenAPI 3.1),
// then, given a file of recorded responses (one JSON object a line:
// {"path": "/v1/jobs/{job_id}", "method": "get", "status": 200, "body": {...}}),
// validates every body against the schema the document gives that response.
//
//   node tools/openapi/check.mjs docs/api/openapi.yaml [responses.jsonl]
//
// Prints one line per problem; exits 1 when there is any.
import { readFileSync } from "node:fs";
import { Validator } from "@seriousme/openapi-schema-validator";
import Ajv2020 from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import YAML from "yaml";

const [docPath, respPath] = process.argv.slice(2);
if (!docPath) {
  console.error("usage: check.mjs OPENAPI.yaml [RESPONSES.jsonl]");
  process.exit(2);
}
let problems = 0;
const validator = new Validator();
const res = await validator.validate(docPath);
if (!res.valid) {
  console.log(`${docPath}: not a valid OpenAPI ${validator.version} document`);
  console.log(JSON.stringify(res.errors, null, 1));
  process.exit(1);
}
console.log(`${docPath}: valid OpenAPI ${validator.version}`);
if (!respPath) process.exit(0);

const doc = YAML.parse(readFileSync(docPath, "utf8"));
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);
ajv.addSchema(doc, "openapi.json");
const deref = (o) => {
  while (o && o.$ref) {
    o = o.$ref.replace(/^#\//, "").split("/").reduce((x, k) => x?.[k.replace(/~1/g, "/").replace(/~0/g, "~")], doc);
  }
  return o;
};
const lines = readFileSync(respPath, "utf8").split("\n").filter((l) => l.trim());
let checked = 0;
for (const [i, line] of lines.entries()) {
  const r = JSON.parse(line);
  const op = doc.paths?.[r.path]?.[r.method];
  const resp = deref(op?.responses?.[String(r.status)]);
  const schema = resp?.content?.["application/json"]?.schema;
  if (!schema) {
    console.log(`line ${i + 1}: ${r.method.toUpperCase()} ${r.path} ${r.status}: the document has no JSON response for it`);
    problems++;
    continue;
  }
  const validate = schema.$ref ? ajv.getSchema(`openapi.json${schema.$ref}`) : ajv.compile(schema);
  if (!validate(r.body)) {
    console.log(`line ${i + 1}: ${r.method.toUpperCase()} ${r.path} ${r.status}: ${ajv.errorsText(validate.errors)}: ${JSON.stringify(r.body)}`);
    problems++;
  }
  checked++;
}
console.log(`${checked} responses checked, ${problems} problem(s)`);
process.exit(problems ? 1 : 0);
