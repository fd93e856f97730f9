package org.fishleg;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Every public type of the library says what it is for: scans the sources under java/ and fails naming each
 * public (or protected) top-level or nested type, and each member type of an interface (implicitly public),
 * that has no {@code /** ... *}{@code /} comment before its declaration (annotations and modifiers may sit
 * between the two). Also every package has a package-info.java with such a comment, and the packages internal
 * to the command-line tool say they are not API and stay out of the published javadoc (pom.xml).
 *
 * <p>The scanner is a small lexer, not a parser: comments, string, character and text-block literals are blanked
 * first, so a {@code /*} inside a javadoc, a {@code "class X"} in a string or {@code Foo.class} never count; a
 * declaration's header runs back to the previous {@code ;}, <code>{</code> or <code>}</code> outside
 * parentheses (so annotation arguments such as <code>@Command(subcommands = {A.class})</code> stay inside it).
 * The tests on inline sources below pin what it reports.
 */
class PublicApiDocsTest {

    /** The library sources, relative to the project root (surefire's working directory). */
    static final Path SOURCES = Path.of("java");


    /** Packages internal to the command-line tool (or to the optimizers): not API, not in the published javadoc. */
    static final List<String> INTERNAL_PACKAGES = List.of(
            "org.fishleg.cli", "org.fishleg.bench", "org.fishleg.experiments", "org.fishleg.plot", "org.fishleg.optim.kron");

    @Test
    void everyPublicTypeHasAJavadocComment() throws IOException {
        assertTrue(Files.isDirectory(SOURCES), SOURCES.toAbsolutePath() + " is not a folder: run from the project root");
        List<String> missing = new ArrayList<>();
        int files = 0;
        for (Path f : sourceFiles()) {
            if (f.getFileName().toString().equals("package-info.java")) continue;
            files++;
            for (String d : undocumentedPublicTypes(Files.readString(f))) missing.add(f + ": " + d);
        }
        assertTrue(files > 50, "only " + files + " source files found under " + SOURCES.toAbsolutePath());
        assertTrue(missing.isEmpty(), missing.size() + " public types without a javadoc comment (say what each is for):\n  "
                + String.join("\n  ", missing));
    }

    @Test
    void everyPackageHasADocumentedPackageInfo() throws IOException {
        List<String> missing = new ArrayList<>();
        List<Path> dirs = new ArrayList<>();
        for (Path f : sourceFiles()) if (!dirs.contains(f.getParent())) dirs.add(f.getParent());
        for (Path dir : dirs) {
            Path info = dir.resolve("package-info.java");
            if (!Files.isRegularFile(info)) {
                missing.add(SOURCES.relativize(dir) + ": no package-info.java");
                continue;
            }
            Lexed lx = Lexed.of(Files.readString(info));
            int pkg = lx.code.indexOf("package ");
            if (pkg < 0 || !lx.javadocIn(0, pkg))
                missing.add(SOURCES.relativize(info) + ": no javadoc comment before the package declaration");
        }
        assertTrue(missing.isEmpty(), String.join("\n", missing));
    }

    @Test
    void internalPackagesSaySoAndStayOutOfThePublishedJavadoc() throws IOException {
        String pom = Files.readString(Path.of("pom.xml"));
        Matcher m = Pattern.compile("<excludePackageNames>([^<]*)</excludePackageNames>").matcher(pom);
        assertTrue(m.find(), "pom.xml: no <excludePackageNames> in the maven-javadoc-plugin configuration");
        List<String> excluded = List.of(m.group(1).trim().split("\\s*:\\s*"));
        for (String p : INTERNAL_PACKAGES) {
            assertTrue(excluded.contains(p), "pom.xml: excludePackageNames does not name " + p + ": " + excluded);
            String info = Files.readString(SOURCES.resolve(p.replace('.', '/')).resolve("package-info.java"));
            assertTrue(info.contains("not API, may change"), p + "'s package-info.java does not say it is not API");
        }
    }

    // ---- the scanner, pinned on inline sources ----

    @Test
    void reportsAPublicClassWithoutJavadoc() {
        assertEquals(List.of("line 3: class A"), undocumentedPublicTypes("package p;\n\npublic class A {}\n"));
        assertEquals(List.of("line 2: class A"), undocumentedPublicTypes("/* a block comment is not javadoc */\npublic class A {}"));
        assertEquals(List.of("line 1: class A"), undocumentedPublicTypes("/**/ public class A {}"));
        assertEquals(List.of("line 2: record R"), undocumentedPublicTypes("import x.Y;\npublic record R(int a) {}"));
    }

    @Test
    void acceptsJavadocBeforeAnnotationsAndModifiers() {
        assertEquals(List.of(), undocumentedPublicTypes(
                "package p;\n/** What A is for (see data/* and \"quotes\"). */\n@Command(name = \"a\", subcommands = {B.class, C.class},\n"
                        + "    footer = {\"x;\", \"}\"})\n@Deprecated public final class A implements Runnable {}\n"));
        assertEquals(List.of(), undocumentedPublicTypes("/** An enum. */ public enum E { X, Y; }"));
        assertEquals(List.of(), undocumentedPublicTypes("/** An annotation. */ public @interface Ann {}"));
    }

    @Test
    void reportsNestedTypesThatArePublicOrProtectedOrInAnInterface() {
        String src = "/** Outer. */\npublic class O {\n"
                + "    /** Documented. */ public static final class Doc {}\n"
                + "    public static final class Bare {}\n"
                + "    protected interface Prot {}\n"
                + "    private static class Hidden {}\n"
                + "    static class PackagePrivate {}\n"
                + "    void m() { class Local {} Object o = O.class; String s = \"public class Str {}\"; }\n"
                + "    // public class InLineComment {}\n"
                + "    /* public class InBlockComment {} */\n"
                + "}\n"
                + "/** I. */ public interface I {\n"
                + "    final class Implicit {}\n"
                + "    /** Documented. */ record R(int a) {}\n"
                + "    default void m() { class Local {} }\n"
                + "}\n";
        assertEquals(List.of("line 4: class Bare", "line 5: interface Prot", "line 13: class Implicit"), undocumentedPublicTypes(src));
    }

    @Test
    void textBlocksAndCharLiteralsAreNotCode() {
        assertEquals(List.of(), undocumentedPublicTypes(
                "/** T. */ public class T {\n  String s = \"\"\"\n    public class Fake {}\n    \"\"\";\n  char c = '{'; char q = '\\''; }\n"));
    }

    private static List<Path> sourceFiles() throws IOException {
        try (Stream<Path> s = Files.walk(SOURCES)) {
            return s.filter(f -> f.toString().endsWith(".java"))
                    .sorted().toList();
        }
    }

    private static final Pattern TYPE = Pattern.compile("(@\\s*interface|(?<![\\w$.@])(?:class|interface|enum|record))\\s+([A-Za-z_$][\\w$]*)");

    /** "line N: KIND Name" for each public type of {@code src} without a javadoc comment, in source order. */
    static List<String> undocumentedPublicTypes(String src) {
        Lexed lx = Lexed.of(src);
        String code = lx.code;
        record Decl(int start, String kind, String name, int header, int bodyOpen, int bodyClose) {}
        List<Decl> decls = new ArrayList<>();
        Matcher m = TYPE.matcher(code);
        while (m.find()) {
            String kind = m.group(1).startsWith("@") ? "@interface" : m.group(1);
            if (kind.equals("record") && !code.substring(m.end()).stripLeading().matches("(?s)[(<].*")) continue;
            int open = code.indexOf('{', m.end());
            if (open < 0) continue;
            decls.add(new Decl(m.start(), kind, m.group(2), headerStart(code, m.start()), open, matchingBrace(code, open)));
        }
        List<String> out = new ArrayList<>();
        for (Decl d : decls) {
            String header = code.substring(d.header, d.start).replaceAll("\\([^()]*\\)", " ");
            boolean declaredPublic = Pattern.compile("\\b(public|protected)\\b").matcher(header).find();
            Decl enclosing = null;
            for (Decl e : decls)
                if (e.bodyOpen < d.start && d.start < e.bodyClose && (enclosing == null || e.bodyOpen > enclosing.bodyOpen)) enclosing = e;
            boolean memberOfInterface = enclosing != null && (enclosing.kind.equals("interface") || enclosing.kind.equals("@interface"))
                    && depth(code, d.start) == depth(code, enclosing.bodyOpen) + 1;
            if (!declaredPublic && !memberOfInterface) continue;
            if (!lx.javadocIn(d.header, d.start)) out.add("line " + lineOf(src, d.start) + ": " + d.kind + " " + d.name);
        }
        return out;
    }

    /** Where the declaration at {@code pos} begins: after the previous ; { or } that is outside parentheses. */
    private static int headerStart(String code, int pos) {
        int parens = 0;
        for (int i = pos - 1; i >= 0; i--) {
            char c = code.charAt(i);
            if (c == ')') parens++;
            else if (c == '(') parens--;
            else if (parens == 0 && (c == ';' || c == '{' || c == '}')) return i + 1;
        }
        return 0;
    }

    private static int matchingBrace(String code, int open) {
        int depth = 0;
        for (int i = open; i < code.length(); i++) {
            char c = code.charAt(i);
            if (c == '{') depth++;
            else if (c == '}' && --depth == 0) return i;
        }
        return code.length();
    }

    /** Braces open before {@code pos}. */
    private static int depth(String code, int pos) {
        int depth = 0;
        for (int i = 0; i < pos; i++) {
            char c = code.charAt(i);
            if (c == '{') depth++;
            else if (c == '}') depth--;
        }
        return depth;
    }

    private static int lineOf(String src, int pos) {
        int line = 1;
        for (int i = 0; i < pos; i++) if (src.charAt(i) == '\n') line++;
        return line;
    }

    /** A source with comments and literals blanked to spaces (newlines kept), and where its javadoc comments start. */
    private static final class Lexed {
        final String code;
        final List<Integer> javadocStarts = new ArrayList<>();

        private Lexed(String code) { this.code = code; }

        boolean javadocIn(int from, int to) {
            for (int s : javadocStarts) if (s >= from && s < to) return true;
            return false;
        }

        static Lexed of(String src) {
            char[] c = src.toCharArray();
            List<Integer> docs = new ArrayList<>();
            int i = 0;
            while (i < c.length) {
                if (c[i] == '/' && i + 1 < c.length && c[i + 1] == '/') {
                    while (i < c.length && c[i] != '\n') c[i++] = ' ';
                } else if (c[i] == '/' && i + 1 < c.length && c[i + 1] == '*') {
                    if (src.startsWith("/**", i) && !src.startsWith("/**/", i)) docs.add(i);
                    int end = src.indexOf("*/", i + 2);
                    end = end < 0 ? c.length : end + 2;
                    blank(c, i, end);
                    i = end;
                } else if (src.startsWith("\"\"\"", i)) {
                    int end = i + 3;
                    while (end < c.length && !(src.startsWith("\"\"\"", end) && c[end - 1] != '\\')) end++;
                    end = Math.min(c.length, end + 3);
                    blank(c, i, end);
                    i = end;
                } else if (c[i] == '"' || c[i] == '\'') {
                    char q = c[i];
                    int end = i + 1;
                    while (end < c.length && c[end] != q && c[end] != '\n') end += c[end] == '\\' ? 2 : 1;
                    end = Math.min(c.length, end + 1);
                    blank(c, i, end);
                    i = end;
                } else {
                    i++;
                }
            }
            Lexed lx = new Lexed(new String(c));
            lx.javadocStarts.addAll(docs);
            return lx;
        }

        private static void blank(char[] c, int from, int to) {
            for (int k = from; k < to; k++) if (c[k] != '\n') c[k] = ' ';
        }
    }
}
