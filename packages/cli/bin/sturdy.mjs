#!/usr/bin/env node
// Runs the TypeScript entry through tsx (a devDependency of the workspace): the package ships its sources.
import { register } from "tsx/esm/api"

register()
await import("../src/bin.ts")
