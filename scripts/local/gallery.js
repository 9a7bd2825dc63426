// The demo gallery's script, inlined into out/index.html by scripts/local/gallery.py.
// BlurHash decoding, after the published algorithm (https://github.com/woltapp/blurhash).
const BASE83 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz#$%*+,-.:;=?@[]^_{|}~";
const decode83 = (text) => [...text].reduce((value, c) => value * 83 + BASE83.indexOf(c), 0);
const toLinear = (v) => { v /= 255; return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
const toSrgb = (v) => {
  v = Math.max(0, Math.min(1, v));
  return Math.round(v <= 0.0031308 ? v * 12.92 * 255 : (1.055 * v ** (1 / 2.4) - 0.055) * 255);
};
const signPow = (v, e) => Math.sign(v) * Math.abs(v) ** e;

function blurhashPixels(hash, width, height) {
  const flag = decode83(hash[0]);
  const nx = (flag % 9) + 1, ny = Math.floor(flag / 9) + 1;
  const maximum = (decode83(hash[1]) + 1) / 166;
  const colours = [];
  for (let i = 0; i < nx * ny; i++) {
    if (i === 0) {
      const dc = decode83(hash.substring(2, 6));
      colours.push([toLinear(dc >> 16), toLinear((dc >> 8) & 255), toLinear(dc & 255)]);
    } else {
      const ac = decode83(hash.substring(4 + i * 2, 6 + i * 2));
      colours.push([Math.floor(ac / 361), Math.floor(ac / 19) % 19, ac % 19]
        .map((q) => signPow((q - 9) / 9, 2) * maximum));
    }
  }
  const pixels = new Uint8ClampedArray(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let r = 0, g = 0, b = 0;
      for (let j = 0; j < ny; j++) {
        for (let i = 0; i < nx; i++) {
          const basis = Math.cos(Math.PI * x * i / width) * Math.cos(Math.PI * y * j / height);
          const c = colours[i + j * nx];
          r += c[0] * basis; g += c[1] * basis; b += c[2] * basis;
        }
      }
      const at = 4 * (x + y * width);
      pixels.set([toSrgb(r), toSrgb(g), toSrgb(b), 255], at);
    }
  }
  return pixels;
}

for (const canvas of document.querySelectorAll("canvas.placeholder")) {
  const context = canvas.getContext("2d");
  const image = context.createImageData(canvas.width, canvas.height);
  image.data.set(blurhashPixels(canvas.dataset.blurhash, canvas.width, canvas.height));
  context.putImageData(image, 0, 0);
  canvas.dataset.painted = String(context.getImageData(0, 0, 1, 1).data[3] === 255);
  const img = canvas.parentElement.querySelector("img");
  const reveal = () => canvas.classList.add("loaded");
  if (img.complete && img.naturalWidth) reveal(); else img.addEventListener("load", reveal);
}

// For the browser test, once every image has loaded (or failed): what the browser decoded.
window.addEventListener("load", () => {
  const describe = (img) => ({
    src: img.currentSrc || img.src, complete: img.complete, naturalWidth: img.naturalWidth,
    naturalHeight: img.naturalHeight, width: Number(img.getAttribute("width")),
    height: Number(img.getAttribute("height")), format: img.dataset.format || "",
    shownWidth: img.getBoundingClientRect().width, shownHeight: img.getBoundingClientRect().height,
  });
  const renditions = [...document.querySelectorAll("img[data-format]")].map(describe);
  const shown = [...document.querySelectorAll("picture img")].map(describe);
  const placeholders = [...document.querySelectorAll("canvas.placeholder")].map((c) => ({
    hash: c.dataset.blurhash, painted: c.dataset.painted === "true" }));
  const report = { renditions, shown, placeholders };
  document.getElementById("check").textContent = JSON.stringify(report);
});
