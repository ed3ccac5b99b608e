// Writes transcript chunks ({ stream, data }) into an xterm.js terminal as the student's own terminal
// showed them: output as it came, stderr in red, what the student typed in cyan (it was echoed where
// they typed it), and the run's events (compiled, signals, the exit) dimmed on lines of their own.
// Shared by the replay player and live watch.

const Style = {
    stderr: text => `\x1b[31m${text}\x1b[0m`,
    stdin: text => `\x1b[36m${text}\x1b[0m`,
    event: text => `\x1b[2m[${text}]\x1b[0m`,
};

export class TranscriptWriter {
    #terminal;
    #atLineStart = true;

    constructor(terminal) {
        this.#terminal = terminal;
    }

    write(chunk) {
        const data = String(chunk.data ?? "");
        switch (chunk.stream) {
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
                this.note(data);
                return;
        }

        if (data.length > 0) {
            this.#atLineStart = data.endsWith("\n");
        }
    }

    /** A line of its own, dimmed: an event of the run or a word from the viewer. */
    note(text) {
        this.#terminal.write(`${this.#atLineStart ? "" : "\r\n"}${Style.event(text)}\r\n`);
        this.#atLineStart = true;
    }

    reset() {
        this.#terminal.reset();
        this.#atLineStart = true;
    }
}
