// The IDE terminal: xterm.js plus its own connection to the execution hub (/hubs/execution).
// Program output goes from the hub straight into xterm, coalesced to at most ~30 writes a second,
// and never through the Blazor circuit; .NET only hears status events (ReportRunEvent). Input
// typed here passes the line discipline (lineDiscipline.js) and goes to the hub as whole lines.
//
// Hub contract: stream("StartRun", { language, files: [{ name, content }], course? }) yields events
// started, compiling, compiled, running, stdout, stderr, echo, notice, exit, error;
// invoke("SendInput" | "SendEof" | "Interrupt" | "Stop", runId[, text]).

import { Terminal } from "../../lib/xterm/xterm.mjs";
import { FitAddon } from "../../lib/xterm-addon-fit/addon-fit.mjs";
import { LineDiscipline } from "./lineDiscipline.js";

const FrameIntervalMs = 33;
const Scrollback = 5000;
// SignalR's default receive limit is 32 KB per message; input is sent in pieces well under it
// (a UTF-16 unit is at most 3 UTF-8 bytes, plus JSON escaping).
const InputChunkChars = 4096;

export const Themes = {
    dark: {
        background: "#1e1e1e", foreground: "#d4d4d4", cursor: "#d4d4d4", selectionBackground: "#264f78",
    },
    light: {
        background: "#ffffff", foreground: "#1e1e1e", cursor: "#1e1e1e", selectionBackground: "#add6ff",
        // xterm's default yellow and white are unreadable on white.
        yellow: "#946200", brightYellow: "#7a5200", white: "#555555", brightWhite: "#333333",
    },
};

const Style = {
    notice: text => `\x1b[33m${text}\x1b[0m`,
    error: text => `\x1b[31m${text}\x1b[0m`,
    dim: text => `\x1b[2m${text}\x1b[0m`,
};

/**
 * Creates the terminal in element. dotNet receives ReportRunEvent(event) for status changes.
 * options: { hubUrl, maxSourceBytes, keepAliveMs, theme: "dark" | "light" }.
 */
export function attach(element, dotNet, options) {
    return new TerminalHandle(element, dotNet, options);
}

class TerminalHandle {
    #dotNet;
    #options;
    #terminal;
    #fit;
    #discipline;
    #resizeObserver;
    #unwatchCircuit = null;
    #connection = null;
    #subscription = null;
    #run = null; // { runId, stopped, inputQueue } while a run is active
    #sendChain = Promise.resolve();
    #pendingOutput = "";
    #frameRequested = false;
    #writing = false;
    #lastFrame = 0;
    #onPageHide;
    #lastFinalEvent = null; // how the last run ended, sent again when the circuit comes back
    #circuitLost = false;

    constructor(element, dotNet, options) {
        this.#dotNet = dotNet;
        this.#options = options;
        this.#terminal = new Terminal({
            convertEol: true, // the program writes \n; xterm needs \r\n
            scrollback: Scrollback,
            cursorBlink: true,
            fontFamily: "ui-monospace, 'DejaVu Sans Mono', Menlo, Consolas, monospace",
            fontSize: 14,
            theme: Themes[options.theme] ?? Themes.dark,
        });
        this.#fit = new FitAddon();
        this.#terminal.loadAddon(this.#fit);
        this.#terminal.open(element);
        this.#terminal.textarea?.setAttribute("aria-label", "Terminal input");
        this.#fitSoon();
        this.#resizeObserver = new ResizeObserver(() => this.#fitSoon());
        this.#resizeObserver.observe(element);

        this.#discipline = new LineDiscipline({
            echo: text => this.#terminal.write(text),
            send: text => this.#sendInput(text),
            interrupt: () => this.#invokeForRun("Interrupt"),
            eof: () => this.#invokeForRun("SendEof"),
        });
        this.#terminal.onData(data => this.#discipline.input(data));
        // Ctrl+Enter belongs to the page (Run), not to the program.
        this.#terminal.attachCustomKeyEventHandler(e => !(e.ctrlKey && e.key === "Enter"));

        this.#writeLine(Style.dim("Press Run (Ctrl+Enter) to compile and run. Type the program's input here; Ctrl+C interrupts, Ctrl+D ends input."));
        this.#watchCircuit();
        this.#onPageHide = () => this.#closeConnection();
        globalThis.addEventListener("pagehide", this.#onPageHide);
    }

    /** Runs the source of the editor handle (SourceEditor.razor.js) as languageId, in a file named fileName, in a course if given. */
    async run(editor, languageId, fileName, course) {
        if (this.#run) {
            return;
        }
        const content = editor.getSource();
        editor.clearDiagnostics();
        this.#discipline.reset();
        this.#terminal.reset();

        const bytes = new TextEncoder().encode(content).length;
        if (bytes > this.#options.maxSourceBytes) {
            const message = `The source is ${formatBytes(bytes)}; at most ${formatBytes(this.#options.maxSourceBytes)} can be run. Nothing was sent.`;
            this.#writeLine(Style.error(message));
            this.#report({ type: "rejected", message });
            return;
        }

        const run = { runId: null, stopped: false, inputQueue: [], editor, fileName };
        this.#run = run;
        this.#report({ type: "connecting" });
        try {
            const connection = await this.#connect();
            if (this.#run !== run) {
                return; // stopped while connecting
            }
            this.#subscription = connection
                .stream("StartRun", course ? { language: languageId, files: [{ name: fileName, content }], course } : { language: languageId, files: [{ name: fileName, content }] })
                .subscribe({
                    next: event => this.#onEvent(run, event),
                    error: error => this.#onStreamEnd(run, error),
                    complete: () => this.#onStreamEnd(run, null),
                });
        } catch (error) {
            this.#onStreamEnd(run, error);
        }
    }

    /** Stops the running program (verdict killed). */
    stop() {
        const run = this.#run;
        if (!run) {
            return;
        }
        run.stopped = true;
        if (run.runId) {
            this.#invoke("Stop", run.runId);
        } else {
            // Not started yet: cancelling the stream makes the hub drop the run.
            this.#subscription?.dispose();
            this.#onStreamEnd(run, null);
        }
    }

    /** Ends the program's input, as Ctrl+D on an empty line does. */
    sendEof() {
        this.#invokeForRun("SendEof");
    }

    setTheme(theme) {
        this.#terminal.options.theme = Themes[theme] ?? Themes.dark;
    }

    focus() {
        this.#terminal.focus();
    }

    /** Everything on the screen, one string per line (used by the end-to-end tests). */
    getText() {
        const buffer = this.#terminal.buffer.active;
        const lines = [];
        for (let i = 0; i < buffer.length; i++) {
            lines.push(buffer.getLine(i)?.translateToString(true) ?? "");
        }
        return lines.join("\n").trimEnd();
    }

    async dispose() {
        globalThis.removeEventListener("pagehide", this.#onPageHide);
        this.#unwatchCircuit?.();
        this.#resizeObserver.disconnect();
        this.stop();
        await this.#closeConnection();
        this.#terminal.dispose();
    }

    // ---- hub ----------------------------------------------------------------------------------

    async #connect() {
        if (this.#connection && this.#connection.state === "Connected") {
            return this.#connection;
        }
        await this.#closeConnection();
        const signalR = globalThis.signalR;
        const connection = new signalR.HubConnectionBuilder()
            .withUrl(this.#options.hubUrl)
            .withKeepAliveInterval(this.#options.keepAliveMs ?? 15000)
            .configureLogging(signalR.LogLevel.Warning)
            .build();
        connection.onclose(error => {
            if (this.#connection === connection) {
                this.#connection = null;
            }
            const run = this.#run;
            if (run && !run.stopped) {
                this.#flushNow();
                this.#writeLine(Style.error("[lost the connection to the execution server; the program was stopped]"));
                this.#endRun(run);
                this.#report({ type: "disconnected", message: "lost the connection to the execution server; the program was stopped" });
            }
        });
        this.#connection = connection;
        await connection.start();
        return connection;
    }

    async #closeConnection() {
        const connection = this.#connection;
        this.#connection = null;
        if (connection) {
            try {
                await connection.stop();
            } catch {
                // Already closed.
            }
        }
    }

    #onEvent(run, event) {
        if (this.#run !== run) {
            return;
        }
        switch (event.type) {
            case "started":
                run.runId = event.runId;
                if (run.stopped) {
                    this.#invoke("Stop", run.runId);
                }
                for (const text of run.inputQueue.splice(0)) {
                    this.#sendInput(text);
                }
                this.#report({ type: "started", runId: event.runId });
                break;
            case "compiling":
            case "running":
                this.#report({ type: event.type });
                break;
            case "compiled": {
                if (event.output) {
                    this.#queueOutput(event.success ? event.output : Style.error(event.output));
                }
                const diagnostics = event.diagnostics ?? [];
                const shown = diagnostics.length > 0 ? run.editor.setDiagnostics(diagnostics, run.fileName) : 0;
                this.#report({ type: "compiled", success: !!event.success, diagnostics: shown });
                break;
            }
            case "stdout":
                this.#queueOutput(event.data);
                break;
            case "stderr":
                this.#queueOutput(Style.error(event.data));
                break;
            case "echo":
                break; // typed input is already echoed locally
            case "notice":
                this.#queueOutput(`\r\n${Style.notice(`[${event.message}]`)}\r\n`);
                break;
            case "exit":
                this.#queueOutput(`\r\n${Style.dim(`[${describeExit(event)}]`)}\r\n`);
                this.#report({
                    type: "exit",
                    verdict: event.verdict, stage: event.stage, exitCode: event.exitCode, signal: event.signal,
                    timeMs: event.timeMs, cpuMs: event.cpuMs, memoryBytes: event.memoryBytes, message: event.message,
                });
                this.#endRun(run);
                break;
            case "error":
                this.#queueOutput(`${Style.error(event.message)}\r\n`);
                this.#report({ type: "error", message: event.message });
                this.#endRun(run);
                break;
        }
    }

    #onStreamEnd(run, error) {
        if (this.#run !== run) {
            return;
        }
        this.#flushNow();
        if (error && run.runId) {
            // The stream broke mid-run: the connection dropped, and the hub stops the program of a closed connection.
            this.#writeLine(Style.error("[lost the connection to the execution server; the program was stopped]"));
            this.#report({ type: "disconnected", message: "lost the connection to the execution server; the program was stopped" });
        } else if (error) {
            const message = error.message ?? String(error);
            this.#writeLine(Style.error(`[could not run: ${message}]`));
            this.#report({ type: "error", message });
        } else {
            this.#report({ type: "exit", verdict: "killed", message: "stopped" });
        }
        this.#endRun(run);
    }

    #endRun(run) {
        if (this.#run === run) {
            this.#run = null;
            this.#subscription = null;
        }
    }

    #sendInput(text) {
        const run = this.#run;
        if (!run) {
            return; // nothing is running: the typed line only stays on screen
        }
        if (!run.runId) {
            run.inputQueue.push(text);
            return;
        }
        let start = 0;
        while (start < text.length) {
            let end = Math.min(start + InputChunkChars, text.length);
            if (end < text.length && isHighSurrogate(text.charCodeAt(end - 1))) {
                end--; // never split a surrogate pair between two messages
            }
            this.#invoke("SendInput", run.runId, text.slice(start, end));
            start = end;
        }
    }

    #invokeForRun(method) {
        const run = this.#run;
        if (run?.runId) {
            this.#invoke(method, run.runId);
        }
    }

    // Invocations are chained so input arrives in the order it was typed.
    #invoke(method, ...args) {
        const connection = this.#connection;
        if (!connection) {
            return;
        }
        const runId = args[0];
        this.#sendChain = this.#sendChain
            .then(() => connection.invoke(method, ...args))
            .catch(error => {
                // A Stop or Ctrl+C racing the program's own exit fails harmlessly; say nothing then.
                if (this.#run?.runId === runId) {
                    this.#writeLine(Style.error(`[${method} failed: ${error.message ?? error}]`));
                }
            });
    }

    // ---- output coalescing --------------------------------------------------------------------

    #queueOutput(text) {
        this.#pendingOutput += text;
        this.#requestFrame();
    }

    #requestFrame() {
        if (this.#frameRequested) {
            return;
        }
        this.#frameRequested = true;
        const onFrame = now => {
            if (now - this.#lastFrame < FrameIntervalMs) {
                requestAnimationFrame(onFrame);
                return;
            }
            this.#frameRequested = false;
            this.#lastFrame = now;
            this.#flush();
        };
        requestAnimationFrame(onFrame);
    }

    // One xterm write per frame; while xterm is still parsing the last one, output keeps collecting.
    #flush() {
        if (this.#writing || !this.#pendingOutput) {
            return;
        }
        const text = this.#pendingOutput;
        this.#pendingOutput = "";
        this.#writing = true;
        this.#terminal.write(text, () => {
            this.#writing = false;
            if (this.#pendingOutput) {
                this.#requestFrame();
            }
        });
    }

    #flushNow() {
        if (this.#pendingOutput) {
            const text = this.#pendingOutput;
            this.#pendingOutput = "";
            this.#terminal.write(text);
        }
    }

    #writeLine(text) {
        this.#flushNow();
        this.#terminal.write(`${text}\r\n`);
    }

    // ---- page and circuit ---------------------------------------------------------------------

    // When Blazor reports the circuit lost (the ReconnectModal's state event: anything but "hide") the
    // page's server is gone: stop the program rather than leave it running with nobody to see its status.
    #watchCircuit() {
        const modal = document.getElementById("components-reconnect-modal");
        if (!modal) {
            return;
        }
        const onStateChanged = event => {
            const lost = event.detail?.state !== "hide";
            if (lost && !this.#circuitLost && this.#run) {
                this.#flushNow();
                this.#writeLine(Style.notice("[lost the connection to the page's server; the program was stopped]"));
                this.stop();
            } else if (!lost && this.#circuitLost) {
                this.#resyncStatus();
            }
            this.#circuitLost = lost;
        };
        modal.addEventListener("components-reconnect-state-changed", onStateChanged);
        this.#unwatchCircuit = () => modal.removeEventListener("components-reconnect-state-changed", onStateChanged);
    }

    #fitSoon() {
        requestAnimationFrame(() => {
            try {
                this.#fit.fit();
            } catch {
                // Not laid out yet.
            }
        });
    }

    #report(event) {
        if (["exit", "error", "disconnected", "rejected"].includes(event.type)) {
            this.#lastFinalEvent = event;
        }
        try {
            this.#dotNet.invokeMethodAsync("ReportRunEvent", event).catch(() => {
                // The circuit is down; the reconnect UI says so, and #resyncStatus catches up later.
            });
        } catch {
            // Same, thrown synchronously.
        }
    }

    // Reconnected to the same circuit: the run stopped while it was down, and that status event was
    // lost, so send how it ended again (the status line ignores an end it already knows). The
    // circuit takes a moment to accept calls after the reconnect UI hides, hence the retries.
    async #resyncStatus() {
        for (let attempt = 0; attempt < 20; attempt++) {
            await new Promise(resolve => setTimeout(resolve, 250 + attempt * 250));
            if (this.#run || this.#circuitLost || !this.#lastFinalEvent) {
                return;
            }
            try {
                await this.#dotNet.invokeMethodAsync("ReportRunEvent", this.#lastFinalEvent);
                return;
            } catch {
                // Not ready yet.
            }
        }
    }
}

function describeExit(event) {
    const parts = [];
    if (event.signal) {
        parts.push(`killed by signal ${event.signal}`);
    } else if (event.exitCode !== undefined && event.exitCode !== null) {
        parts.push(`exit code ${event.exitCode}`);
    }
    if (event.verdict && event.verdict !== "ok") {
        parts.push(event.verdict.replace(/_/g, " "));
    }
    if (event.message) {
        parts.push(event.message);
    }
    if (event.timeMs !== undefined && event.timeMs !== null) {
        parts.push(`${event.timeMs} ms`);
    }
    if (event.memoryBytes) {
        parts.push(formatBytes(event.memoryBytes));
    }
    return parts.join(" · ");
}

function formatBytes(bytes) {
    if (bytes >= 1024 * 1024) {
        return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
    }
    if (bytes >= 1024) {
        return `${(bytes / 1024).toFixed(1)} KiB`;
    }
    return `${bytes} B`;
}

function isHighSurrogate(code) {
    return code >= 0xd800 && code <= 0xdbff;
}
