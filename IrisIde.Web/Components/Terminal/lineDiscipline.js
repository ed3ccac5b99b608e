// Line discipline of the IDE terminal, like a tty in canonical mode with echo on: keys typed in the
// terminal are echoed locally and edited on a pending line; only a finished line (Enter) goes to
// the program's stdin. Escape sequences (arrows, function keys, Alt+key) never reach stdin.
//
// No DOM or xterm dependency: the terminal module feeds it xterm's onData strings and gives it
// callbacks, and `node --test` exercises it directly (lineDiscipline.test.mjs).

const Esc = "\x1b";

const segmenter = typeof Intl !== "undefined" && Intl.Segmenter
    ? new Intl.Segmenter(undefined, { granularity: "grapheme" })
    : null;

/** Splits text into user-perceived characters (grapheme clusters), so Backspace removes a whole emoji or accented letter. */
export function graphemes(text) {
    if (segmenter) {
        return Array.from(segmenter.segment(text), s => s.segment);
    }
    return Array.from(text);
}

/**
 * Columns a grapheme takes in a terminal: 2 for East Asian wide/fullwidth characters and emoji,
 * 0 for a lone combining mark or zero-width character, otherwise 1.
 */
export function columnWidth(grapheme) {
    const cp = grapheme.codePointAt(0);
    if (cp === undefined) {
        return 0;
    }
    if ((cp >= 0x0300 && cp <= 0x036f) || cp === 0x200b || cp === 0x200c || cp === 0x200d || cp === 0xfeff) {
        return 0;
    }
    if (grapheme.includes("\ufe0f")) {
        return 2; // emoji presentation selector
    }
    return isWide(cp) ? 2 : 1;
}

function isWide(cp) {
    return (cp >= 0x1100 && cp <= 0x115f)
        || (cp >= 0x2e80 && cp <= 0x303e)
        || (cp >= 0x3041 && cp <= 0x33ff)
        || (cp >= 0x3400 && cp <= 0x4dbf)
        || (cp >= 0x4e00 && cp <= 0x9fff)
        || (cp >= 0xa000 && cp <= 0xa4cf)
        || (cp >= 0xac00 && cp <= 0xd7a3)
        || (cp >= 0xf900 && cp <= 0xfaff)
        || (cp >= 0xfe30 && cp <= 0xfe4f)
        || (cp >= 0xff00 && cp <= 0xff60)
        || (cp >= 0xffe0 && cp <= 0xffe6)
        || (cp >= 0x1f300 && cp <= 0x1f64f)
        || (cp >= 0x1f900 && cp <= 0x1f9ff)
        || (cp >= 0x20000 && cp <= 0x3fffd);
}

/**
 * Canonical-mode line editing.
 *
 * Callbacks (all optional except echo and send):
 * - echo(text): write text to the terminal screen (local echo, erase sequences).
 * - send(text): write text to the program's stdin; always whole lines ending in "\n", except a
 *   Ctrl+D on a non-empty line, which sends the line as typed without a newline (as a tty does).
 * - interrupt(): Ctrl+C.
 * - eof(): Ctrl+D on an empty line.
 */
export class LineDiscipline {
    #echo;
    #send;
    #interrupt;
    #eof;
    #pending = "";
    #afterCarriageReturn = false;
    #escape = null; // null, or the state of an escape sequence being skipped: "esc" | "csi" | "ss3" | "osc"

    constructor({ echo, send, interrupt = () => { }, eof = () => { } }) {
        this.#echo = echo;
        this.#send = send;
        this.#interrupt = interrupt;
        this.#eof = eof;
    }

    /** The line typed so far and not yet sent. */
    get pendingLine() {
        return this.#pending;
    }

    /** Forgets the pending line (a new run starts) without echoing anything. */
    reset() {
        this.#pending = "";
        this.#afterCarriageReturn = false;
        this.#escape = null;
    }

    /** Handles what the user typed or pasted (xterm's onData). */
    input(data) {
        let echo = "";
        let lines = "";
        const flush = () => {
            if (echo) {
                this.#echo(echo);
                echo = "";
            }
            if (lines) {
                this.#send(lines);
                lines = "";
            }
        };

        // Code points, not graphemes: segmenting a large paste is far too slow, and only Backspace
        // needs grapheme boundaries (of the pending line's tail).
        for (const ch of data) {
            if (this.#escape !== null) {
                this.#skipEscape(ch);
                continue;
            }
            const afterCarriageReturn = this.#afterCarriageReturn;
            this.#afterCarriageReturn = false;
            switch (ch) {
                case Esc:
                    this.#escape = "esc";
                    break;
                case "\r":
                case "\n":
                    if (ch === "\n" && afterCarriageReturn) {
                        break; // the \n of a \r\n split across two inputs
                    }
                    this.#afterCarriageReturn = ch === "\r";
                    lines += this.#pending + "\n";
                    this.#pending = "";
                    echo += "\r\n";
                    break;
                case "\x7f":
                case "\b":
                    echo += this.#erase(1);
                    break;
                case "\x15": // Ctrl+U: erase the whole pending line
                    echo += this.#erase(Infinity);
                    break;
                case "\x17": // Ctrl+W: erase the last word
                    echo += this.#erase(this.#lastWordLength());
                    break;
                case "\x03":
                    echo += "^C\r\n";
                    this.#pending = "";
                    flush();
                    this.#interrupt();
                    break;
                case "\x04":
                    if (this.#pending.length > 0) {
                        lines += this.#pending;
                        this.#pending = "";
                        flush();
                    } else {
                        flush();
                        this.#eof();
                    }
                    break;
                case "\t":
                    this.#pending += ch;
                    echo += " ";
                    break;
                default:
                    if (isControl(ch)) {
                        break; // other control characters are not text
                    }
                    this.#pending += ch;
                    echo += ch;
                    break;
            }
        }
        flush();
    }

    #erase(count) {
        let echo = "";
        for (let i = 0; i < count && this.#pending.length > 0; i++) {
            const ch = lastGrapheme(this.#pending);
            this.#pending = this.#pending.slice(0, -ch.length);
            const width = ch === "\t" ? 1 : columnWidth(ch);
            echo += "\b".repeat(width) + " ".repeat(width) + "\b".repeat(width);
        }
        return echo;
    }

    #lastWordLength() {
        const characters = graphemes(this.#pending);
        let i = characters.length;
        while (i > 0 && characters[i - 1].trim() === "") {
            i--;
        }
        while (i > 0 && characters[i - 1].trim() !== "") {
            i--;
        }
        return characters.length - i;
    }

    // ESC [ params intermediates final (CSI), ESC O x (SS3), ESC ] ... BEL or ESC \ (OSC), ESC x.
    #skipEscape(ch) {
        const code = ch.codePointAt(0);
        switch (this.#escape) {
            case "esc":
                this.#escape = ch === "[" ? "csi" : ch === "O" ? "ss3" : ch === "]" ? "osc" : null;
                break;
            case "csi":
                if (code >= 0x40 && code <= 0x7e) {
                    this.#escape = null;
                }
                break;
            case "ss3":
                this.#escape = null;
                break;
            case "osc":
                if (ch === "\x07") {
                    this.#escape = null;
                } else if (ch === Esc) {
                    this.#escape = "esc"; // string terminator ESC \
                }
                break;
        }
    }
}

// The last grapheme of text, found in its tail: no grapheme cluster a user types is that long.
function lastGrapheme(text) {
    const tail = graphemes(text.slice(-64));
    return tail[tail.length - 1];
}

function isControl(ch) {
    const code = ch.codePointAt(0);
    return ch.length === 1 && (code < 0x20 || (code >= 0x7f && code < 0xa0));
}
