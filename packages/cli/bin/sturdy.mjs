#!/usr/bin/env node
// The `sturdy` command. The package imports its own `bin` module: plain node resolves it to the compiled
// build/esm/bin.js (what the published package ships); `node --conditions=@sturdy/source --import tsx` (as the
// repository's tests and `pnpm sturdy` do) runs src/bin.ts instead.
import "@sturdy/cli/bin"
