// The editor side of the IDE: per-language buffers in localStorage, Monaco markers for compiler
// diagnostics, and the source handed to the terminal module when a run starts (it never goes
// through the Blazor circuit). The editor itself is created by BlazorMonaco; this module finds it
// by its container id.

const StoragePrefix = "iris.buffer.";
const MarkerOwner = "iris";
const SaveDelayMs = 300;

/** Wraps the Monaco editor inside the element with this id. */
export function attach(containerId) {
    const monaco = globalThis.monaco;
    const editor = monaco.editor.getEditors().find(e => e.getContainerDomNode().id === containerId);
    if (!editor) {
        throw new Error(`No Monaco editor in #${containerId}`);
    }
    return new EditorHandle(monaco, editor);
}

class EditorHandle {
    #monaco;
    #editor;
    #languageId = null;
    #saveTimer = 0;
    #subscriptions = [];

    constructor(monaco, editor) {
        this.#monaco = monaco;
        this.#editor = editor;
        this.#subscriptions.push(editor.onDidChangeModelContent(() => {
            // An edit makes the last compiler's markers stale.
            this.clearDiagnostics();
            this.#scheduleSave();
        }));
        this.#onPageHide = () => this.#save();
        globalThis.addEventListener("pagehide", this.#onPageHide);
    }

    #onPageHide;

    /** Saves the current buffer, then shows this language's saved buffer or, the first time, its template. */
    showLanguage(languageId, monacoId, template) {
        if (this.#languageId === languageId) {
            return;
        }
        this.#save();
        this.#languageId = languageId;
        const saved = readStorage(StoragePrefix + languageId);
        const model = this.#editor.getModel();
        this.#monaco.editor.setModelLanguage(model, monacoId || "plaintext");
        model.setValue(saved ?? template);
        this.clearDiagnostics();
    }

    /** Replaces the buffer with the template; undo (Ctrl+Z) brings the old text back. */
    resetToTemplate(template) {
        this.replaceSource(template);
    }

    /** Replaces the buffer (the template, or a run's source opened from its page); undo brings the old text back. */
    replaceSource(text) {
        const model = this.#editor.getModel();
        this.#editor.pushUndoStop();
        this.#editor.executeEdits("iris-replace", [{ range: model.getFullModelRange(), text }]);
        this.#editor.pushUndoStop();
        this.#save();
    }

    /** The current source, read straight from the model. */
    getSource() {
        return this.#editor.getValue();
    }

    /** Compiler diagnostics ({ file, line, column, severity, message }) as markers; fileName filters out other files. */
    setDiagnostics(diagnostics, fileName) {
        const monaco = this.#monaco;
        const model = this.#editor.getModel();
        const severities = {
            error: monaco.MarkerSeverity.Error,
            warning: monaco.MarkerSeverity.Warning,
            note: monaco.MarkerSeverity.Info,
        };
        const markers = diagnostics
            .filter(d => !d.file || !fileName || baseName(d.file) === fileName)
            .map(d => {
                const line = Math.min(Math.max(d.line || 1, 1), model.getLineCount());
                const column = Math.max(d.column || 1, 1);
                const lineEnd = model.getLineMaxColumn(line);
                return {
                    severity: severities[d.severity] ?? monaco.MarkerSeverity.Error,
                    message: d.message,
                    startLineNumber: line,
                    startColumn: Math.min(column, lineEnd),
                    endLineNumber: line,
                    // Underline to the end of the line: compilers give a point, a squiggle needs a range.
                    endColumn: column < lineEnd ? lineEnd : lineEnd + 1,
                    source: "compiler",
                };
            });
        monaco.editor.setModelMarkers(model, MarkerOwner, markers);
        if (markers.length > 0) {
            this.#editor.revealLineInCenterIfOutsideViewport(markers[0].startLineNumber);
        }
        return markers.length;
    }

    clearDiagnostics() {
        this.#monaco.editor.setModelMarkers(this.#editor.getModel(), MarkerOwner, []);
    }

    /** The markers currently shown (used by the end-to-end tests). */
    getDiagnostics() {
        return this.#monaco.editor.getModelMarkers({ owner: MarkerOwner }).map(m => ({
            line: m.startLineNumber, column: m.startColumn, message: m.message, severity: m.severity,
        }));
    }

    setTheme(theme) {
        this.#monaco.editor.setTheme(theme === "light" ? "vs" : "vs-dark");
    }

    focus() {
        this.#editor.focus();
    }

    dispose() {
        this.#save();
        clearTimeout(this.#saveTimer);
        globalThis.removeEventListener("pagehide", this.#onPageHide);
        for (const subscription of this.#subscriptions) {
            subscription.dispose();
        }
    }

    #scheduleSave() {
        clearTimeout(this.#saveTimer);
        this.#saveTimer = setTimeout(() => this.#save(), SaveDelayMs);
    }

    #save() {
        clearTimeout(this.#saveTimer);
        if (this.#languageId !== null) {
            writeStorage(StoragePrefix + this.#languageId, this.#editor.getValue());
        }
    }
}

function baseName(path) {
    return path.split(/[\\/]/).pop();
}

function readStorage(key) {
    try {
        return globalThis.localStorage.getItem(key);
    } catch {
        return null;
    }
}

function writeStorage(key, value) {
    try {
        globalThis.localStorage.setItem(key, value);
    } catch {
        // Storage full or disabled: the buffer still lives in the editor for this page.
    }
}
