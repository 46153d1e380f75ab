// Lint rules, including the import boundaries of docs/ARCHITECTURE.md:
// the pure layers (raft/, metadata/) never touch Node, the clock, randomness,
// timers or the console, so that every run of them is a function of their inputs.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

const impureGlobals = [
  { name: "Date", message: "Pure layers take time as ticks or as values from the caller." },
  { name: "setTimeout", message: "Pure layers count ticks; the shell owns timers." },
  { name: "setInterval", message: "Pure layers count ticks; the shell owns timers." },
  { name: "setImmediate", message: "Pure layers count ticks; the shell owns timers." },
  { name: "queueMicrotask", message: "Pure layers are synchronous." },
  { name: "process", message: "Pure layers do no IO." },
  { name: "console", message: "Pure layers do no IO; return what happened instead." },
  { name: "Buffer", message: "Use Uint8Array and DataView in pure layers." },
  { name: "performance", message: "Pure layers take time as ticks." },
  { name: "crypto", message: "Randomness comes from the injected PRNG." },
];

/** Folders a folder may not import from (DESIGN §2). */
function forbidFolders(...folders) {
  return folders.map((folder) => ({
    group: [`../${folder}/*`, `../../${folder}/*`, `**/${folder}/*`],
    message: `This layer may not import from ${folder}/ (see docs/ARCHITECTURE.md).`,
  }));
}

const pureLayerRules = (...folders) => ({
  "no-restricted-globals": ["error", ...impureGlobals],
  "no-restricted-properties": [
    "error",
    { object: "Math", property: "random", message: "Randomness comes from the injected PRNG." },
  ],
  "no-restricted-imports": [
    "error",
    {
      patterns: [
        { group: ["node:*", "fs", "path", "os", "net", "http", "crypto", "timers", "events"], message: "Pure layers do no IO." },
        ...forbidFolders(...folders),
      ],
    },
  ],
});

export default tseslint.config(
  { ignores: ["dist/**", "node_modules/**", "data/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ["**/*.ts"],
    languageOptions: { parserOptions: { projectService: false } },
    rules: {
      "@typescript-eslint/no-explicit-any": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/consistent-type-imports": "error",
      eqeqeq: ["error", "always"],
      "no-console": "off",
    },
  },
  {
    files: ["src/shared/**/*.ts"],
    ignores: ["src/**/*.test.ts"],
    rules: pureLayerRules("raft", "metadata", "storage", "transport", "controller", "api", "client", "broker", "cli", "sim"),
  },
  {
    files: ["src/raft/**/*.ts"],
    ignores: ["src/**/*.test.ts", "src/raft/scenario/main.ts"],
    rules: pureLayerRules("metadata", "storage", "transport", "controller", "api", "client", "broker", "cli", "sim"),
  },
  {
    files: ["src/metadata/**/*.ts"],
    ignores: ["src/**/*.test.ts"],
    rules: pureLayerRules("raft", "storage", "transport", "controller", "api", "client", "broker", "cli", "sim"),
  },
  {
    // The linearizability checker is pure and may import only shared/: it judges histories the chaos
    // runner records, and must not share code (or bugs) with the system it judges.
    files: ["src/chaos/check/**/*.ts"],
    ignores: ["src/**/*.test.ts"],
    rules: {
      ...pureLayerRules(),
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            // Anything but ./ and ../../shared/: no Node module, no package, no other layer.
            { regex: "^(?!\\./|\\.\\./\\.\\./shared/)", message: "chaos/check/ is pure and may import only from itself and shared/." },
          ],
        },
      ],
    },
  },
  {
    files: ["src/sim/**/*.ts"],
    ignores: ["src/**/*.test.ts", "src/sim/main.ts", "src/sim/command.ts"],
    rules: {
      "no-restricted-properties": [
        "error",
        { object: "Math", property: "random", message: "The simulator draws every choice from its seed." },
      ],
      "no-restricted-globals": ["error", ...impureGlobals.filter((g) => g.name !== "console")],
    },
  },
  {
    files: ["scripts/**/*.mjs", "eslint.config.js"],
    languageOptions: { globals: { process: "readonly", console: "readonly", URL: "readonly" } },
  },
);
