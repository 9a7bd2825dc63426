// The demo gallery's script, inlined into out/index.html by scripts/local/gallery.py. The page
// needs none of it: placeholders and images paint with scripts off. It only fades each
// placeholder once its image has arrived (transparent images would show it through), and
// reports what the browser decoded for the browser test.
for (const placeholder of document.querySelectorAll("img.placeholder")) {
  const img = placeholder.parentElement.querySelector("picture img");
  const reveal = () => placeholder.classList.add("loaded");
  if (img.complete && img.naturalWidth) reveal(); else img.addEventListener("load", reveal);
}

// For the browser test, once every image has loaded (or failed): what the browser decoded.
window.addEventListener("load", () => {
  const report = describePage(document);
  document.getElementById("check").textContent = JSON.stringify(report);
});

function describePage(page) {
  const describe = (img) => ({
    src: img.currentSrc || img.src, complete: img.complete, naturalWidth: img.naturalWidth,
    naturalHeight: img.naturalHeight, width: Number(img.getAttribute("width")),
    height: Number(img.getAttribute("height")), format: img.dataset.format || "",
    shownWidth: img.getBoundingClientRect().width, shownHeight: img.getBoundingClientRect().height,
    card: Boolean(img.closest("figure.card")),
    objectPosition: getComputedStyle(img).objectPosition,
  });
  return {
    renditions: [...page.querySelectorAll("img[data-format]")].map(describe),
    shown: [...page.querySelectorAll("picture img")].map(describe),
    placeholders: [...page.querySelectorAll("img.placeholder")].map(describe),
  };
}
