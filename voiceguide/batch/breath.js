// The bundle page's breathing visual (inlined into index.html by page.py).
//
// Each track's list item holds its timeline as JSON, in a script element of
// type application/json and class "marks": {"phases": [[phase, start_s,
// end_s], ...] with phase "in", "hold" or "out", "chapters": [[title,
// start_s], ...]}. While its <audio> plays, the circle follows the audio's own clock: it grows on an in-breath,
// rests on a hold, shrinks on an out-breath, and is still where nothing
// breathes. The state is on the .breath element: data-phase (in, hold, out,
// still) and data-scale (the circle's size, 0.5 to 1). The chapter title is
// a polite live region that changes only when the chapter does. With
// prefers-reduced-motion the circle does not move; its colour shows the phase.
// Nothing is loaded: everything comes from the page.
(() => {
  "use strict";
  const SMALL = 0.5;
  const LARGE = 1;
  const ease = (x) => 0.5 - 0.5 * Math.cos(Math.PI * Math.min(1, Math.max(0, x)));

  // The phase at time t (seconds), its progress 0..1, and the size it rests at.
  function phaseAt(phases, t) {
    let low = 0;
    let high = phases.length - 1;
    while (low <= high) {
      const middle = (low + high) >> 1;
      const [name, start, end] = phases[middle];
      if (t < start) high = middle - 1;
      else if (t >= end) low = middle + 1;
      else {
        const progress = end > start ? (t - start) / (end - start) : 1;
        const before = middle > 0 ? phases[middle - 1][0] : "in";
        return { name, progress, rest: before === "out" ? SMALL : LARGE };
      }
    }
    return { name: "still", progress: 0, rest: SMALL };
  }

  function scaleOf(phase) {
    if (phase.name === "in") return SMALL + (LARGE - SMALL) * ease(phase.progress);
    if (phase.name === "out") return LARGE - (LARGE - SMALL) * ease(phase.progress);
    if (phase.name === "hold") return phase.rest;
    return SMALL;
  }

  function chapterAt(chapters, t) {
    let title = "";
    for (const [name, start] of chapters) {
      if (start <= t) title = name;
      else break;
    }
    return title;
  }

  function follow(item) {
    const audio = item.querySelector("audio");
    const visual = item.querySelector(".breath");
    const dot = item.querySelector(".breath-dot");
    const chapter = item.querySelector(".breath-chapter");
    const data = item.querySelector("script.marks");
    if (!audio || !visual || !dot || !chapter || !data) return;
    let marks;
    try {
      marks = JSON.parse(data.textContent);
    } catch (error) {
      return;
    }
    const phases = Array.isArray(marks.phases) ? marks.phases : [];
    const chapters = Array.isArray(marks.chapters) ? marks.chapters : [];
    const reduced = window.matchMedia ? window.matchMedia("(prefers-reduced-motion: reduce)") : { matches: false };
    let frame = 0;

    function update() {
      const t = audio.currentTime || 0;
      const phase = phaseAt(phases, t);
      const scale = scaleOf(phase);
      visual.dataset.phase = phase.name;
      visual.dataset.scale = scale.toFixed(3);
      visual.dataset.motion = reduced.matches ? "reduce" : "full";
      dot.style.transform = reduced.matches ? "" : `scale(${scale.toFixed(3)})`;
      const title = chapterAt(chapters, t);
      if (chapter.textContent !== title) chapter.textContent = title;
    }

    function tick() {
      update();
      frame = audio.paused || audio.ended ? 0 : window.requestAnimationFrame(tick);
    }

    function start() {
      if (!frame) frame = window.requestAnimationFrame(tick);
      update();
    }

    for (const name of ["timeupdate", "seeked", "pause", "ended", "loadedmetadata"]) audio.addEventListener(name, update);
    for (const name of ["play", "playing"]) audio.addEventListener(name, start);
    visual.hidden = false;
    update();
  }

  for (const item of document.querySelectorAll("li[data-marks]")) follow(item);
})();
