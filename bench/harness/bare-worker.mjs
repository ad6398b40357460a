// The reference side of bench:harness: the least a worker can do to call an extension function:
// load the core addon, open the library, attach, bind, call once, report.
import { parentPort, workerData } from "node:worker_threads";
import { createRequire } from "node:module";

const native = createRequire(import.meta.url)(workerData.coreNative);
const info = native.extLoad(workerData.library, "null");
const fns = native.extBind(native.extAttach(info.id, 5000 + workerData.round));
const result = fns[workerData.fn](...workerData.args);
parentPort.postMessage({ result, id: info.id });
