// Prints the CDK_CONTEXT_JSON that `cdk synth` would hand the app, for
// scripts/synth.sh, which runs the app without the CLI:
//   node scripts/cdk-context.mjs [-c KEY=VALUE | --context KEY=VALUE]...
// The context is what the CLI builds from its settings (path and asset
// metadata, version reporting, bundling), cdk.json's "context",
// cdk.context.json and the -c arguments, later ones winning. It exits 3 on
// anything it does not reproduce (another argument, a user ~/.cdk.json,
// settings it does not know), so that the caller runs the CLI instead.
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

const unsupported = (why) => {
  process.stderr.write(`cdk-context: ${why}\n`);
  process.exit(3);
};
const readJSON = (path) => JSON.parse(readFileSync(path, "utf8"));

if (existsSync(join(homedir(), ".cdk.json"))) unsupported("~/.cdk.json is read by the CLI only");
const project = readJSON("cdk.json");
const known = new Set(["app", "watch", "context", "pathMetadata", "assetMetadata", "versionReporting", "staging", "bundlingStacks"]);
for (const key of Object.keys(project)) if (!known.has(key)) unsupported(`cdk.json setting "${key}"`);

const context = {};
if (project.pathMetadata ?? true) context["aws:cdk:enable-path-metadata"] = true;
if (project.assetMetadata ?? true) context["aws:cdk:enable-asset-metadata"] = true;
if (project.versionReporting ?? true) context["aws:cdk:version-reporting"] = true;
else context["aws:cdk:disable-version-reporting"] = true;
if (!(project.staging ?? true)) context["aws:cdk:disable-asset-staging"] = true;
context["aws:cdk:bundling-stacks"] = project.bundlingStacks ?? ["**"];
Object.assign(context, project.context ?? {});
if (existsSync("cdk.context.json")) Object.assign(context, readJSON("cdk.context.json"));

const args = process.argv.slice(2);
for (let i = 0; i < args.length; i++) {
  let pair;
  if (args[i] === "-c" || args[i] === "--context") pair = args[++i];
  else if (args[i].startsWith("--context=")) pair = args[i].slice("--context=".length);
  else unsupported(`argument ${args[i]}`);
  const eq = pair === undefined ? -1 : pair.indexOf("=");
  if (eq <= 0) unsupported(`context argument ${pair ?? "(none)"} is not KEY=VALUE`);
  if (pair.startsWith("aws:")) unsupported(`context key ${pair.slice(0, eq)} is reserved`);
  context[pair.slice(0, eq)] = pair.slice(eq + 1);
}
process.stdout.write(JSON.stringify(context));
