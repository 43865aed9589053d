// The build that moves from dev to staging to prod unchanged: only its environment differs.
import { createServer } from "node:http";

const host = process.env.BERTH_ADVERTISE_ADDR ?? "127.0.0.1";
const port = Number(process.env.PORT ?? 8080);
const env = process.env.APP_ENV ?? "nowhere";
createServer((req, res) => {
  if (req.url === "/healthz") return void res.writeHead(200).end("ok\n");
  res.writeHead(200, { "content-type": "text/plain" });
  res.end(`hello from ${process.env.BERTH_INSTANCE} in ${env} (revision ${process.env.BERTH_VERSION}) on ${host}\n`);
}).listen(port, host, () => console.log(`listening on http://${host}:${port}/ (${env}, log level ${process.env.LOG_LEVEL ?? "info"})`));
process.on("SIGTERM", () => process.exit(0));
