// Fails with a clear message when the machine's Node is older than the client's tools need.
const [major, minor] = process.versions.node.split('.').map(Number)
if (major < 20 || (major === 20 && minor < 19)) {
  console.error(`Node ${process.versions.node} is too old for the web client: install Node 20.19 or newer (https://nodejs.org), then run make again.`)
  process.exit(1)
}
