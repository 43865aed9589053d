// Lint rules beyond the type checker: no floating promises (an unawaited write is
// a lost error), no `any`, exhaustive switches.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist/**", "node_modules/**", "shared/gen/**", ".berth/**", "scripts/**", "eslint.config.js", "test/fixtures/**/*.js", "test/fixtures/**/*.mjs", "test/cluster/harness/*.mjs", "examples/**/*.js"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": ["error", { checksVoidReturn: false }],
      "@typescript-eslint/no-explicit-any": "error",
      "@typescript-eslint/switch-exhaustiveness-check": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/consistent-type-imports": "error",
      "no-constant-condition": ["error", { checkLoops: false }],
    },
  },
  {
    // Node turns a delay above 2^31-1 ms (or NaN) into 1 ms: a timer whose delay is
    // not a constant goes through shared/timer.ts, so data can never make it spin.
    files: ["controller/**/*.ts", "agent/**/*.ts"],
    rules: {
      "no-restricted-syntax": [
        "error",
        {
          selector: "CallExpression[callee.name=/^(setTimeout|setInterval)$/][arguments.length>1][arguments.1.type!='Literal'][arguments.1.name!=/^[A-Z][A-Z0-9_]*$/]:not([arguments.1.callee.name='clampDelayMs'])",
          message: "a delay that is not a constant: use setTimeoutClamped / setIntervalClamped / clampDelayMs from shared/timer.ts",
        },
        {
          selector: "CallExpression[callee.name='sleep'][arguments.length>0][arguments.0.type!='Literal'][arguments.0.name!=/^[A-Z][A-Z0-9_]*$/]:not([arguments.0.callee.name='clampDelayMs'])",
          message: "a delay that is not a constant: sleep(clampDelayMs(ms)) (shared/timer.ts)",
        },
      ],
    },
  },
);
