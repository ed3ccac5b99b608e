// Plays a run's transcript with its original timing: what the student's terminal showed, when it
// showed it, and when the program was waiting for what the student then typed.
//
// The transcript is GET /api/v1/runs/{id}/transcript's "events": [{ t, stream, data }] in time order,
// t in milliseconds since the run started. The clock owns no terminal and no timer of its own kind:
// the caller gives it a sink (what to do with an event, and how to start over for a seek backwards)
// and, in tests, a fake clock and timer, so the timing can be checked without waiting.

/** The speeds the player offers. */
export const Speeds = Object.freeze([1, 2, 8]);

/**
 * Time (ms) a program must have waited before an input event for the player to say it was waiting:
 * shorter gaps are the program's own pace, longer ones a person at a keyboard.
 */
export const WaitingThresholdMs = 300;

export class ReplayClock {
    #events;
    #sink;
    #now;
    #setTimer;
    #clearTimer;
    #next = 0; // index of the first event not yet delivered
    #position = 0; // transcript time (ms) at #anchorWall
    #anchorWall = 0;
    #speed = 1;
    #playing = false;
    #timer = null;

    /**
     * sink: { event(e), reset(), changed(state) }: event delivers one transcript event, reset clears
     * the screen before a seek backwards, changed reports { playing, position, duration, speed, waiting }.
     * clock: { now(): ms, setTimer(fn, ms): handle, clearTimer(handle) }, performance/setTimeout by default.
     */
    constructor(events, sink, clock = {}) {
        this.#events = [...events].sort((a, b) => a.t - b.t);
        this.#sink = sink;
        this.#now = clock.now ?? (() => performance.now());
        this.#setTimer = clock.setTimer ?? ((fn, ms) => setTimeout(fn, ms));
        this.#clearTimer = clock.clearTimer ?? (handle => clearTimeout(handle));
    }

    /** The transcript's length: the time of its last event. */
    get duration() {
        return this.#events.length === 0 ? 0 : this.#events[this.#events.length - 1].t;
    }

    get playing() {
        return this.#playing;
    }

    get speed() {
        return this.#speed;
    }

    /** Where the replay is, in transcript milliseconds. */
    get position() {
        if (!this.#playing) {
            return this.#position;
        }

        return Math.min(this.duration, this.#position + (this.#now() - this.#anchorWall) * this.#speed);
    }

    /**
     * True while the next event is input the program waited for: the gap before it is long enough to
     * be a person typing, and the replay is inside that gap.
     */
    get waiting() {
        const next = this.#events[this.#next];
        if (next === undefined || next.stream !== "stdin") {
            return false;
        }

        const previous = this.#next > 0 ? this.#events[this.#next - 1].t : 0;
        return next.t - previous >= WaitingThresholdMs;
    }

    play() {
        if (this.#playing) {
            return;
        }

        if (this.#next >= this.#events.length) {
            // Played to the end: play again from the start.
            this.seek(0);
        }

        this.#anchorWall = this.#now();
        this.#playing = true;
        this.#schedule();
        this.#report();
    }

    pause() {
        if (!this.#playing) {
            return;
        }

        this.#position = this.position;
        this.#playing = false;
        this.#cancelTimer();
        this.#report();
    }

    setSpeed(speed) {
        if (!Speeds.includes(speed)) {
            throw new RangeError(`speed must be one of ${Speeds.join(", ")}`);
        }

        // Re-anchor so the time already played keeps its place.
        this.#position = this.position;
        this.#anchorWall = this.#now();
        this.#speed = speed;
        if (this.#playing) {
            this.#cancelTimer();
            this.#schedule();
        }

        this.#report();
    }

    /** Jumps to transcript time ms: everything up to it is shown at once, nothing after it. */
    seek(ms) {
        const target = Math.max(0, Math.min(this.duration, Number(ms) || 0));
        this.#cancelTimer();
        if (this.#next > 0 && target < this.#events[this.#next - 1].t) {
            this.#sink.reset();
            this.#next = 0;
        }

        this.#position = target;
        this.#anchorWall = this.#now();
        this.#deliverUpTo(target);
        if (this.#playing) {
            this.#schedule();
        }

        this.#report();
    }

    dispose() {
        this.#playing = false;
        this.#cancelTimer();
    }

    #deliverUpTo(time) {
        while (this.#next < this.#events.length && this.#events[this.#next].t <= time) {
            this.#sink.event(this.#events[this.#next]);
            this.#next++;
        }
    }

    #schedule() {
        if (!this.#playing) {
            return;
        }

        const now = this.position;
        this.#deliverUpTo(now);
        if (this.#next >= this.#events.length) {
            this.#position = this.duration;
            this.#playing = false;
            this.#report();
            return;
        }

        const delay = Math.max(0, (this.#events[this.#next].t - now) / this.#speed);
        this.#timer = this.#setTimer(() => {
            this.#timer = null;
            this.#schedule();
            this.#report();
        }, delay);
    }

    #cancelTimer() {
        if (this.#timer !== null) {
            this.#clearTimer(this.#timer);
            this.#timer = null;
        }
    }

    #report() {
        this.#sink.changed?.({
            playing: this.#playing,
            position: this.position,
            duration: this.duration,
            speed: this.#speed,
            waiting: this.waiting,
        });
    }
}
