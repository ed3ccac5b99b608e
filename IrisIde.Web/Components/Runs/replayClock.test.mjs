// node --test IrisIde.Web/Components/Runs/
import { test } from "node:test";
import assert from "node:assert/strict";
import { ReplayClock, WaitingThresholdMs } from "./replayClock.js";

// A clock and timers that move only when the test says so.
function fakeTime() {
    const time = { now: 0, timers: [], nextId: 1 };
    time.clock = {
        now: () => time.now,
        setTimer: (fn, ms) => {
            const id = time.nextId++;
            time.timers.push({ id, at: time.now + ms, fn });
            return id;
        },
        clearTimer: id => { time.timers = time.timers.filter(t => t.id !== id); },
    };
    time.advance = ms => {
        const end = time.now + ms;
        for (;;) {
            time.timers.sort((a, b) => a.at - b.at);
            const due = time.timers[0];
            if (due === undefined || due.at > end) {
                break;
            }

            time.timers.shift();
            time.now = due.at;
            due.fn();
        }

        time.now = end;
    };
    return time;
}

function player(events) {
    const time = fakeTime();
    const seen = { shown: [], resets: 0, states: [] };
    const clock = new ReplayClock(events, {
        event: e => seen.shown.push({ at: time.now, data: e.data }),
        reset: () => { seen.resets++; seen.shown = []; },
        changed: state => seen.states.push(state),
    }, time.clock);
    return { time, seen, clock };
}

// The example: prints, sleeps a second, prints again.
const sleeper = [
    { t: 0, stream: "event", data: "started" },
    { t: 20, stream: "stdout", data: "one\n" },
    { t: 1020, stream: "stdout", data: "two\n" },
    { t: 1025, stream: "event", data: "exit 0" },
];

test("at 1x each event comes at its own time", () => {
    const { time, seen, clock } = player(sleeper);
    clock.play();
    time.advance(2000);
    assert.deepEqual(seen.shown.map(s => s.at), [0, 20, 1020, 1025]);
    assert.equal(clock.playing, false);
    assert.equal(clock.position, 1025);
});

test("at 2x the gap between the two lines is halved, at 8x an eighth", () => {
    for (const [speed, gap] of [[2, 500], [8, 125]]) {
        const { time, seen, clock } = player(sleeper);
        clock.setSpeed(speed);
        clock.play();
        time.advance(2000);
        const [one, two] = seen.shown.filter(s => s.data.endsWith("\n"));
        assert.equal(two.at - one.at, gap);
    }
});

test("changing speed mid-play keeps the time already played", () => {
    const { time, seen, clock } = player(sleeper);
    clock.play();
    time.advance(520); // 500 ms into the one-second gap
    clock.setSpeed(2);
    time.advance(250); // the other 500 ms at 2x
    assert.deepEqual(seen.shown.map(s => s.data), ["started", "one\n", "two\n"]);
    assert.equal(seen.shown[2].at, 770);
});

test("pause holds the position and nothing is shown while paused", () => {
    const { time, seen, clock } = player(sleeper);
    clock.play();
    time.advance(100);
    clock.pause();
    time.advance(5000);
    assert.equal(clock.position, 100);
    assert.equal(seen.shown.length, 2);
    clock.play();
    time.advance(920);
    assert.equal(seen.shown.length, 3);
});

test("seeking forward shows everything up to the point at once", () => {
    const { time, seen, clock } = player(sleeper);
    clock.seek(1022);
    assert.deepEqual(seen.shown.map(s => s.data), ["started", "one\n", "two\n"]);
    assert.equal(seen.resets, 0);
    clock.play();
    time.advance(3);
    assert.equal(seen.shown.length, 4);
});

test("seeking backwards starts the screen over and replays up to the point", () => {
    const { seen, clock } = player(sleeper);
    clock.seek(1025);
    clock.seek(30);
    assert.equal(seen.resets, 1);
    assert.deepEqual(seen.shown.map(s => s.data), ["started", "one\n"]);
    assert.equal(clock.position, 30);
});

test("a seek outside the transcript is clamped", () => {
    const { seen, clock } = player(sleeper);
    clock.seek(-50);
    assert.equal(clock.position, 0);
    clock.seek(1e9);
    assert.equal(clock.position, 1025);
    assert.equal(seen.shown.length, 4);
    clock.seek("not a number");
    assert.equal(clock.position, 0);
});

test("play after the end starts again from the beginning", () => {
    const { time, seen, clock } = player(sleeper);
    clock.play();
    time.advance(2000);
    clock.play();
    assert.equal(seen.resets, 1);
    time.advance(2000);
    assert.equal(seen.shown.length, 4);
});

test("the player says the program is waiting during a long gap before input, not a short one", () => {
    const { time, clock } = player([
        { t: 0, stream: "stdout", data: "Name? " },
        { t: 10 + WaitingThresholdMs, stream: "stdin", data: "Ann\n" },
        { t: 20 + WaitingThresholdMs, stream: "stdout", data: "Hi Ann\n" },
        { t: 30 + WaitingThresholdMs, stream: "stdin", data: "x\n" },
    ]);
    clock.play();
    time.advance(5);
    assert.equal(clock.waiting, true);
    time.advance(10 + WaitingThresholdMs);
    assert.equal(clock.waiting, false); // next is stdin only 10 ms after the output
});

test("only the speeds offered are accepted", () => {
    const { clock } = player(sleeper);
    assert.throws(() => clock.setSpeed(3), RangeError);
    assert.equal(clock.speed, 1);
});

test("an empty transcript plays to its end at once", () => {
    const { time, clock } = player([]);
    clock.play();
    time.advance(1);
    assert.equal(clock.playing, false);
    assert.equal(clock.duration, 0);
});

test("events out of order are played in time order", () => {
    const { time, seen, clock } = player([{ t: 50, stream: "stdout", data: "b" }, { t: 10, stream: "stdout", data: "a" }]);
    clock.play();
    time.advance(100);
    assert.deepEqual(seen.shown.map(s => s.data), ["a", "b"]);
});
