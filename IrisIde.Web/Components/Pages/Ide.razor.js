// Page-wide behaviour of the IDE: the Ctrl+Enter shortcut (wherever the focus is, Monaco included)
// and the remembered theme, language and course (per user).

const ThemeKey = "iris.theme";
const LanguageKey = "iris.language";
const CourseKey = "iris.course.";

export function attach(dotNet) {
    const onKeyDown = event => {
        if (event.ctrlKey && event.key === "Enter" && !event.altKey && !event.shiftKey) {
            // Capture phase, so Monaco's own Ctrl+Enter (insert line below) never sees it.
            event.preventDefault();
            event.stopPropagation();
            dotNet.invokeMethodAsync("RunAsync").catch(() => { });
        }
    };
    document.addEventListener("keydown", onKeyDown, true);

    return {
        preferences: () => ({ theme: read(ThemeKey), language: read(LanguageKey) }),
        setTheme: theme => {
            document.documentElement.dataset.theme = theme;
            write(ThemeKey, theme);
        },
        rememberLanguage: id => write(LanguageKey, id),
        rememberedCourse: userId => read(CourseKey + userId),
        rememberCourse: (userId, courseId) => write(CourseKey + userId, courseId),
        dispose: () => document.removeEventListener("keydown", onKeyDown, true),
    };
}

function read(key) {
    try {
        return localStorage.getItem(key);
    } catch {
        return null;
    }
}

function write(key, value) {
    try {
        localStorage.setItem(key, value);
    } catch {
        // Storage disabled: the choice lasts for this page only.
    }
}
