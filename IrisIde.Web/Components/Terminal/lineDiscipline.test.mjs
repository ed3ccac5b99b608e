// node --test IrisIde.Web/Components/Terminal/
import { test } from "node:test";
import assert from "node:assert/strict";
import { LineDiscipline, columnWidth, graphemes } from "./lineDiscipline.js";

function terminal() {
    const t = { screen: "", sent: [], interrupts: 0, eofs: 0 };
    t.discipline = new LineDiscipline({
        echo: text => { t.screen += text; },
        send: text => { t.sent.push(text); },
        interrupt: () => { t.interrupts++; },
        eof: () => { t.eofs++; },
    });
    return t;
}

test("typed characters are echoed and held until Enter", () => {
    const t = terminal();
    t.discipline.input("A");
    t.discipline.input("nn");
    assert.equal(t.screen, "Ann");
    assert.deepEqual(t.sent, []);
    assert.equal(t.discipline.pendingLine, "Ann");
});

test("Enter sends the line with a newline and echoes CR LF", () => {
    const t = terminal();
    t.discipline.input("Ann\r");
    assert.deepEqual(t.sent, ["Ann\n"]);
    assert.equal(t.screen, "Ann\r\n");
    assert.equal(t.discipline.pendingLine, "");
});

test("an empty line is sent as a bare newline", () => {
    const t = terminal();
    t.discipline.input("\r");
    assert.deepEqual(t.sent, ["\n"]);
});

test("Backspace edits the pending line and erases one column", () => {
    const t = terminal();
    t.discipline.input("Anx\x7fn\r");
    assert.deepEqual(t.sent, ["Ann\n"]);
    assert.equal(t.screen, "Anx\b \bn\r\n");
});

test("Backspace on an empty line does nothing", () => {
    const t = terminal();
    t.discipline.input("\x7f\b");
    assert.equal(t.screen, "");
    assert.deepEqual(t.sent, []);
});

test("Backspace removes a wide character and its two columns", () => {
    const t = terminal();
    t.discipline.input("名前\x7f");
    assert.equal(t.discipline.pendingLine, "名");
    assert.ok(t.screen.endsWith("\b\b  \b\b"));
});

test("Backspace removes a whole grapheme: emoji with modifiers and accented letters", () => {
    const t = terminal();
    t.discipline.input("a👍🏽e\u0301\x7f\x7f");
    assert.equal(t.discipline.pendingLine, "a");
});

test("arrow keys, function keys and Alt combinations never reach stdin", () => {
    const t = terminal();
    t.discipline.input("a\x1b[A\x1b[D\x1bOB\x1b[15~\x1b[1;5Cb\x1bxc\r");
    assert.deepEqual(t.sent, ["abc\n"]);
    assert.equal(t.screen, "abc\r\n");
});

test("an escape sequence split across inputs is still skipped", () => {
    const t = terminal();
    t.discipline.input("a\x1b");
    t.discipline.input("[");
    t.discipline.input("A");
    t.discipline.input("b\r");
    assert.deepEqual(t.sent, ["ab\n"]);
});

test("OSC sequences are skipped up to BEL or ST", () => {
    const t = terminal();
    t.discipline.input("a\x1b]0;title\x07b\x1b]1;x\x1b\\c\r");
    assert.deepEqual(t.sent, ["abc\n"]);
});

test("pasted text with newlines sends every complete line at once and keeps the rest pending", () => {
    const t = terminal();
    t.discipline.input("one\rtwo\r\nthree\nfour");
    assert.deepEqual(t.sent, ["one\ntwo\nthree\n"]);
    assert.equal(t.discipline.pendingLine, "four");
    assert.equal(t.screen, "one\r\ntwo\r\nthree\r\nfour");
});

test("CR LF split across two inputs is one line end", () => {
    const t = terminal();
    t.discipline.input("x\r");
    t.discipline.input("\ny\r");
    assert.deepEqual(t.sent, ["x\n", "y\n"]);
});

test("a large paste is handled in one send", () => {
    const t = terminal();
    const line = "0123456789".repeat(10);
    t.discipline.input(Array(2000).fill(line).join("\r") + "\r");
    assert.equal(t.sent.length, 1);
    assert.equal(t.sent[0].length, 2000 * (line.length + 1));
});

test("Ctrl+C interrupts and drops the pending line", () => {
    const t = terminal();
    t.discipline.input("abc\x03");
    assert.equal(t.interrupts, 1);
    assert.equal(t.discipline.pendingLine, "");
    assert.deepEqual(t.sent, []);
    assert.ok(t.screen.endsWith("^C\r\n"));
});

test("Ctrl+D on an empty line is end of input", () => {
    const t = terminal();
    t.discipline.input("\x04");
    assert.equal(t.eofs, 1);
    assert.deepEqual(t.sent, []);
});

test("Ctrl+D on a non-empty line sends it without a newline, like a tty", () => {
    const t = terminal();
    t.discipline.input("abc\x04");
    assert.equal(t.eofs, 0);
    assert.deepEqual(t.sent, ["abc"]);
    t.discipline.input("\x04");
    assert.equal(t.eofs, 1);
});

test("lines typed before Ctrl+D are sent before end of input", () => {
    const order = [];
    const discipline = new LineDiscipline({
        echo: () => { },
        send: text => order.push(`send:${text}`),
        eof: () => order.push("eof"),
    });
    discipline.input("a\rb\r\x04");
    assert.deepEqual(order, ["send:a\nb\n", "eof"]);
});

test("Ctrl+U erases the line and Ctrl+W the last word", () => {
    const t = terminal();
    t.discipline.input("hello big world\x17");
    assert.equal(t.discipline.pendingLine, "hello big ");
    t.discipline.input("\x15");
    assert.equal(t.discipline.pendingLine, "");
});

test("other control characters are ignored, text with markup is kept as text", () => {
    const t = terminal();
    t.discipline.input("\x00\x01<script>\x07\r");
    assert.deepEqual(t.sent, ["<script>\n"]);
});

test("reset forgets the pending line", () => {
    const t = terminal();
    t.discipline.input("abc");
    t.discipline.reset();
    t.discipline.input("\r");
    assert.deepEqual(t.sent, ["\n"]);
});

test("column widths", () => {
    assert.equal(columnWidth("a"), 1);
    assert.equal(columnWidth("名"), 2);
    assert.equal(columnWidth("한"), 2);
    assert.equal(columnWidth("😀"), 2);
    assert.equal(columnWidth("\u0301"), 0);
    assert.deepEqual(graphemes("e\u0301x"), ["e\u0301", "x"]);
});
