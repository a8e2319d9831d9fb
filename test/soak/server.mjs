#!/usr/bin/env node
// One life of the soak's runtime: Silo on Miniflare 4 (the benchmarks' proxy-free server) over the
// persist folder given, its tenant objects' SQLite kept there too, so the next life started on
// the same folder after a SIGKILL finds everything that was committed. Prints "READY <url>" once
// serving; the soak kills this process's whole group (Node and workerd) to crash it.
//
//   node test/soak/server.mjs <persistDir> <port>     (secrets in SOAK_VARS, a JSON object)
import { startSilo } from "../bench/servers.mjs";

const [persistDir, port] = process.argv.slice(2);
const vars = JSON.parse(process.env.SOAK_VARS ?? "{}");
const silo = await startSilo({ vars, persistDir, objectsOnDisk: true, directPort: Number(port) });
console.log(`READY ${silo.base} ${silo.pid}`);
const stop = () => silo.mf.dispose().finally(() => process.exit(0));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
// Its own process group outlives the soak if the soak dies (Ctrl-C, a test timeout): not this.
const parent = process.ppid;
setInterval(() => process.ppid !== parent && stop(), 1000).unref();
