/**
 * TypeDoc plugin: the $…$ and $$…$$ math of the docs/ pages and of doc
 * comments, rendered at build time by KaTeX as MathML, which browsers draw
 * without scripts or fonts — so the API reference shows the formulas that
 * GitHub shows. Markdown would read `_` and `*` inside TeX as emphasis, so
 * each formula is swapped for a placeholder before the Markdown is parsed
 * and put back afterwards. A formula KaTeX cannot parse is an error.
 */
import katex from 'katex';
import { MarkdownEvent } from 'typedoc';

/** Fenced code, inline code, display math, inline math (GitHub's rules: no space inside the dollars). */
const PIECES = /(^```[\s\S]*?^```[ \t]*$)|(`+)[\s\S]*?\2|\$\$([\s\S]+?)\$\$|(?<![\\$\w])\$(?!\s)([^$\n]+?)(?<!\s)\$(?![\w$])/gm;

export function load(app) {
  const rendered = [];
  const placeholder = (i) => `WNMATH${i}X`;
  const render = (tex, displayMode, page) => {
    try {
      return katex.renderToString(tex.trim(), { displayMode, output: 'mathml', throwOnError: true });
    } catch (e) {
      app.logger.error(`math on ${page}: ${e.message}`);
      return tex;
    }
  };
  app.renderer.on(
    MarkdownEvent.PARSE,
    (event) => {
      const page = event.page?.url ?? '(unknown page)';
      event.parsedText = event.parsedText.replace(PIECES, (whole, fence, ticks, display, inline) => {
        if (fence !== undefined || ticks !== undefined) return whole;
        const html = display !== undefined ? `<div class="math-display">${render(display, true, page)}</div>` : render(inline, false, page);
        rendered.push(html);
        // A display formula stands alone as its own paragraph.
        return display !== undefined ? `\n\n${placeholder(rendered.length - 1)}\n\n` : placeholder(rendered.length - 1);
      });
    },
    100, // before TypeDoc parses the Markdown
  );
  app.renderer.on(
    MarkdownEvent.PARSE,
    (event) => {
      event.parsedText = event.parsedText
        .replace(/<p>WNMATH(\d+)X<\/p>/g, (_, i) => rendered[Number(i)])
        .replace(/WNMATH(\d+)X/g, (_, i) => rendered[Number(i)]);
    },
    -100, // after
  );
}
