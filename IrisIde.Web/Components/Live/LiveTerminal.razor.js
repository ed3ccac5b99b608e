// Live watch: a read-only xterm.js terminal fed by the execution hub's WatchRun stream (opened, then
// chunks { t, stream, data } — what the run showed so far, then as it happens — then ended, or one
// error). It has its own hub connection, like the IDE's terminal, and never takes input.

import { Terminal } from "../../lib/xterm/xterm.mjs";
import { FitAddon } from "../../lib/xterm-addon-fit/addon-fit.mjs";
import { Themes } from "../Terminal/Terminal.razor.js";
import { TranscriptWriter } from "../Runs/transcriptWriter.js";

/** options: { hubUrl, runId }. */
export function attach(element, status, options) {
    return new LiveTerminalHandle(element, status, options);
}

class LiveTerminalHandle {
    #terminal;
    #fit;
    #writer;
    #status;
    #resizeObserver;
    #connection = null;
    #subscription = null;
    #disposed = false;

    constructor(element, status, options) {
        this.#status = status;
        this.#terminal = new Terminal({
            convertEol: true,
            disableStdin: true,
            scrollback: 5000,
            fontFamily: "ui-monospace, 'DejaVu Sans Mono', Menlo, Consolas, monospace",
            fontSize: 14,
            theme: Themes.dark,
        });
        this.#fit = new FitAddon();
        this.#terminal.loadAddon(this.#fit);
        this.#terminal.open(element);
        this.#writer = new TranscriptWriter(this.#terminal);
        this.#resizeObserver = new ResizeObserver(() => this.#fit.fit());
        this.#resizeObserver.observe(element);
        this.#fit.fit();
        this.#watch(options);
    }

    async #watch(options) {
        const signalR = globalThis.signalR;
        const connection = new signalR.HubConnectionBuilder()
            .withUrl(options.hubUrl)
            .configureLogging(signalR.LogLevel.Warning)
            .build();
        this.#connection = connection;
        connection.onclose(() => {
            if (!this.#disposed && this.#subscription !== null) {
                this.#say("The connection to the server was lost; reload the page to watch again.");
            }
        });
        try {
            await connection.start();
        } catch {
            this.#say("Could not connect to the server.");
            return;
        }

        if (this.#disposed) {
            await connection.stop();
            return;
        }

        this.#say("Connecting to the run…");
        this.#subscription = connection.stream("WatchRun", options.runId).subscribe({
            next: message => this.#receive(message),
            complete: () => { this.#subscription = null; },
            error: () => {
                this.#subscription = null;
                this.#say("Watching stopped: the server ended the stream.");
            },
        });
    }

    #receive(message) {
        switch (message.type) {
            case "opened":
                this.#say("Watching live.");
                if (message.trimmed) {
                    this.#writer.note("earlier output is no longer kept; what follows is the run's recent past");
                }
                break;
            case "chunk":
                this.#writer.write(message);
                break;
            case "ended":
                this.#writer.note("the run is over");
                this.#say("The run is over.");
                break;
            default:
                this.#say(message.message ?? "This run cannot be watched.");
                break;
        }
    }

    #say(text) {
        this.#status.textContent = text;
    }

    async dispose() {
        this.#disposed = true;
        this.#subscription?.dispose();
        this.#subscription = null;
        this.#resizeObserver.disconnect();
        try {
            await this.#connection?.stop();
        } catch {
            // Already closed.
        }

        this.#terminal.dispose();
    }
}
