// SPDX-License-Identifier: Apache-2.0
// validate.mjs FILE.json: FILE holds a JSON array of Kubernetes objects;
// each is validated against the Kubernetes API schema of its apiVersion and
// kind (kubernetes-models, generated from the Kubernetes OpenAPI spec).
// Prints one line per object; exits 1 when any is invalid or of a kind
// this checker does not know.
import { readFileSync } from "node:fs";
import { Namespace, ConfigMap } from "kubernetes-models/v1";
import { DaemonSet } from "kubernetes-models/apps/v1";

const models = {
  "v1/Namespace": Namespace,
  "v1/ConfigMap": ConfigMap,
  "apps/v1/DaemonSet": DaemonSet,
};
const docs = JSON.parse(readFileSync(process.argv[2], "utf8"));
let bad = 0;
for (const d of docs) {
  const key = `${d.apiVersion}/${d.kind}`;
  const Model = models[key];
  if (!Model) {
    console.log(`${key}: no schema in this checker`);
    bad++;
    continue;
  }
  try {
    new Model(d).validate();
    console.log(`${key} ${d.metadata?.name}: valid`);
  } catch (e) {
    console.log(`${key} ${d.metadata?.name}: INVALID: ${e.message}`);
    bad++;
  }
}
process.exit(bad ? 1 : 0);
