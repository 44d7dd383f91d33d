// Compile portal.scss and copy the NHS.UK frontend JavaScript and images into static/nhsuk/;
// copy Chart.js (the admin dashboard's charts) with its licence into static/chartjs/.
import { cpSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as sass from "sass";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "..", "static", "nhsuk");
const dist = join(here, "node_modules", "nhsuk-frontend", "dist", "nhsuk");
const version = JSON.parse(
  readFileSync(join(here, "node_modules", "nhsuk-frontend", "package.json"), "utf8"),
).version;

mkdirSync(join(out, "assets"), { recursive: true });
const css = sass.compile(join(here, "portal.scss"), {
  loadPaths: [join(here, "node_modules")],
  style: "compressed",
  quietDeps: true,
  silenceDeprecations: ["import"],
});
writeFileSync(join(out, "nhsuk-portal.min.css"), css.css);
// The source maps are not shipped, so their comments go too (collectstatic would look for them).
const js = readFileSync(join(dist, "nhsuk-frontend.min.js"), "utf8");
writeFileSync(
  join(out, "nhsuk-frontend.min.js"),
  js.replace(/\n?\/\/# sourceMappingURL=\S+\s*$/, "\n"),
);
cpSync(join(dist, "assets", "images"), join(out, "assets", "images"), { recursive: true });
writeFileSync(join(out, "VERSION"), `nhsuk-frontend ${version}\n`);
console.log(`static/nhsuk: nhsuk-frontend ${version}, ${css.css.length} bytes of CSS`);

// Chart.js's UMD build bundles its one dependency, @kurkle/color: both licences go beside it.
const chartjs = join(here, "node_modules", "chart.js");
const chartjsOut = join(here, "..", "static", "chartjs");
const chartjsVersion = JSON.parse(readFileSync(join(chartjs, "package.json"), "utf8")).version;
mkdirSync(chartjsOut, { recursive: true });
writeFileSync(
  join(chartjsOut, "chart.umd.min.js"),
  readFileSync(join(chartjs, "dist", "chart.umd.min.js"), "utf8").replace(
    /\n?\/\/# sourceMappingURL=\S+\s*$/,
    "\n",
  ),
);
cpSync(join(chartjs, "LICENSE.md"), join(chartjsOut, "LICENSE.md"));
cpSync(
  join(here, "node_modules", "@kurkle", "color", "LICENSE.md"),
  join(chartjsOut, "LICENSE-kurkle-color.md"),
);
writeFileSync(join(chartjsOut, "VERSION"), `chart.js ${chartjsVersion}\n`);
console.log(`static/chartjs: chart.js ${chartjsVersion}`);
