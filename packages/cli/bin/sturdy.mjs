#!/usr/bin/env node
// The `sturdy` command: the compiled entry point, run by plain node (`pnpm build` produces build/esm in this
// repository; the published package ships it). `pnpm sturdy ...` in the repository runs the sources through tsx.
import "../build/esm/bin.js"
