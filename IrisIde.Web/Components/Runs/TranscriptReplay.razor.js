// The replay player: a read-only xterm.js terminal driven by ReplayClock (replayClock.js), with the
// controls the Razor component renders. The transcript is fetched here with the viewer's sign-in
// (GET /api/v1/runs/{id}/transcript), so it never passes through the Blazor circuit.

import { Terminal } from "../../lib/xterm/xterm.mjs";
import { FitAddon } from "../../lib/xterm-addon-fit/addon-fit.mjs";
import { Themes } from "../Terminal/Terminal.razor.js";
import { ReplayClock } from "./replayClock.js";

const Style = {
    stderr: text => `\x1b[31m${text}\x1b[0m`,
    stdin: text => `\x1b[36m${text}\x1b[0m`,
    event: text => `\x1b[2m[${text}]\x1b[0m`,
};

// How often the position shown moves while playing; events themselves are written at their own time.
const TickMs = 100;

/** options: { transcriptUrl, theme }. */
export function attach(terminalElement, controls, options) {
    return new ReplayHandle(terminalElement, controls, options);
}

class ReplayHandle {
    #terminal;
    #fit;
    #controls;
    #clock = null;
    #ticker = null;
    #atLineStart = true;
    #resizeObserver;
    #disposed = false;

    constructor(terminalElement, controls, options) {
        this.#terminal = new Terminal({
            convertEol: true,
            disableStdin: true,
            scrollback: 5000,
            fontFamily: "ui-monospace, 'DejaVu Sans Mono', Menlo, Consolas, monospace",
            fontSize: 14,
            theme: Themes[options.theme] ?? Themes.dark,
        });
        this.#fit = new FitAddon();
        this.#terminal.loadAddon(this.#fit);
        this.#terminal.open(terminalElement);
        this.#resizeObserver = new ResizeObserver(() => this.#fit.fit());
        this.#resizeObserver.observe(terminalElement);
        this.#fit.fit();

        const part = name => controls.querySelector(`[data-replay="${name}"]`);
        this.#controls = {
            play: part("play"), speed: part("speed"), seek: part("seek"),
            time: part("time"), waiting: part("waiting"), note: part("note"),
        };
        this.#controls.play.disabled = true;
        this.#controls.play.addEventListener("click", () => this.#clock?.playing ? this.#clock.pause() : this.#clock?.play());
        this.#controls.speed.addEventListener("change", () => this.#clock?.setSpeed(Number(this.#controls.speed.value)));
        this.#controls.seek.addEventListener("input", () => this.#clock?.seek(Number(this.#controls.seek.value)));
        this.#load(options.transcriptUrl);
    }

    async #load(url) {
        let transcript;
        try {
            const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
            if (!response.ok) {
                this.#note(response.status === 404 ? "This run has no transcript you may see." : `The transcript could not be loaded (HTTP ${response.status}).`);
                return;
            }

            transcript = await response.json();
        } catch {
            this.#note("The transcript could not be loaded.");
            return;
        }

        if (this.#disposed) {
            return;
        }

        const events = Array.isArray(transcript.events) ? transcript.events : [];
        this.#clock = new ReplayClock(events, {
            event: e => this.#write(e),
            reset: () => { this.#terminal.reset(); this.#atLineStart = true; },
            changed: state => this.#show(state),
        });
        this.#controls.seek.max = String(Math.ceil(this.#clock.duration));
        this.#controls.play.disabled = events.length === 0;
        const notes = [];
        if (events.length === 0) {
            notes.push("The transcript is empty.");
        }

        if (transcript.truncated) {
            notes.push("The transcript was cut at the server's size limit; the end of the run is missing.");
        }

        if (transcript.incomplete) {
            notes.push("Part of the transcript could not be stored.");
        }

        this.#note(notes.join(" "));
        this.#show({ playing: false, position: 0, duration: this.#clock.duration, speed: 1, waiting: false });
    }

    #write(e) {
        const data = String(e.data ?? "");
        switch (e.stream) {
            case "stdout":
                this.#terminal.write(data);
                break;
            case "stderr":
                this.#terminal.write(Style.stderr(data));
                break;
            case "stdin":
                this.#terminal.write(Style.stdin(data));
                break;
            default:
                this.#terminal.write(`${this.#atLineStart ? "" : "\r\n"}${Style.event(data)}\r\n`);
                this.#atLineStart = true;
                return;
        }

        if (data.length > 0) {
            this.#atLineStart = data.endsWith("\n");
        }
    }

    #show(state) {
        const { play, seek, time, waiting } = this.#controls;
        play.textContent = state.playing ? "Pause" : "Play";
        play.setAttribute("aria-label", state.playing ? "Pause" : "Play");
        seek.value = String(Math.round(state.position));
        time.textContent = `${(state.position / 1000).toFixed(2)} s / ${(state.duration / 1000).toFixed(2)} s`;
        waiting.hidden = !state.waiting;
        if (state.playing && this.#ticker === null) {
            this.#ticker = setInterval(() => this.#tick(), TickMs);
        } else if (!state.playing && this.#ticker !== null) {
            clearInterval(this.#ticker);
            this.#ticker = null;
        }
    }

    #tick() {
        const clock = this.#clock;
        if (clock !== null) {
            this.#show({ playing: clock.playing, position: clock.position, duration: clock.duration, speed: clock.speed, waiting: clock.waiting });
        }
    }

    #note(text) {
        this.#controls.note.textContent = text;
    }

    dispose() {
        this.#disposed = true;
        this.#clock?.dispose();
        if (this.#ticker !== null) {
            clearInterval(this.#ticker);
        }

        this.#resizeObserver.disconnect();
        this.#terminal.dispose();
    }
}
