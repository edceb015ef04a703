// CI: every .tf file under terraform/ must parse as HCL (Terraform itself cannot run here). Uses the npm package
// @cdktf/hcl2json (HashiCorp's HCL parser compiled to WebAssembly); .ci/run installs it.
// Usage: node .ci/parse-terraform.mjs NODE_MODULES_DIR TERRAFORM_DIR
import { createRequire } from "node:module";
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join, resolve } from "node:path";

const [modules, root] = process.argv.slice(2);
const { parse } = createRequire(resolve(modules, "noop.js"))("@cdktf/hcl2json");

function tfFiles(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? tfFiles(path) : name.endsWith(".tf") ? [path] : [];
  });
}

const files = tfFiles(root);
let failed = 0;
for (const file of files) {
  try {
    const json = await parse(file, readFileSync(file, "utf8"));
    const blocks = Object.entries(json).map(([kind, v]) => `${Object.keys(v).length} ${kind}`).join(", ");
    console.log(`parsed ${file}: ${blocks}`);
  } catch (e) {
    failed++;
    console.error(`HCL parse error in ${file}: ${e.message ?? e}`);
  }
}
if (files.length === 0) {
  console.error(`no .tf files under ${root}`);
  process.exit(1);
}
console.log(`${files.length - failed} of ${files.length} .tf files parse as HCL`);
process.exit(failed ? 1 : 0);
