// Starts `webserv lsp` for documents in the "webserv" language and talks to it over stdio.
"use strict";

const vscode = require("vscode");
const { LanguageClient } = require("vscode-languageclient/node");

let client;

function activate() {
  const settings = vscode.workspace.getConfiguration("webserv");
  const [command, ...args] = settings.get("server.command", ["webserv", "lsp"]);
  const serverOptions = { command, args }; // an executable: stdio is the default transport
  const clientOptions = {
    documentSelector: [{ language: "webserv" }],
    outputChannelName: "webserv language server",
  };
  client = new LanguageClient("webserv", "webserv language server", serverOptions, clientOptions);
  return client.start();
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
