// The smallest berth service: answers with who it is, on the host's address.
import { createServer } from "node:http";

const host = process.env.BERTH_ADVERTISE_ADDR ?? "127.0.0.1";
const port = Number(process.env.PORT ?? 8080);
createServer((req, res) => {
  if (req.url === "/healthz") return void res.writeHead(200).end("ok\n");
  res.writeHead(200, { "content-type": "text/plain" });
  res.end(`hello from ${process.env.BERTH_INSTANCE} (version ${process.env.BERTH_VERSION}, epoch ${process.env.BERTH_EPOCH}) on ${host}\n`);
}).listen(port, host, () => console.log(`listening on http://${host}:${port}/`));
process.on("SIGTERM", () => process.exit(0));
