// The camera as a second scanner, only where the browser itself can read QR codes
// (`BarcodeDetector`): no decoder is shipped for browsers without it, and they simply get no
// 扫码 button — the keyboard-wedge scanner is the counter's main input.

import { h } from "/app/app.js";

let support = null;
/** Whether this browser offers a camera and a QR detector (checked once). */
async function supported() {
  support ??= (async () => {
    if (!("BarcodeDetector" in window) || !navigator.mediaDevices?.getUserMedia) return false;
    try {
      const formats = await window.BarcodeDetector.getSupportedFormats();
      return formats.includes("qr_code");
    } catch {
      return false;
    }
  })();
  return support;
}

/**
 * `{ button, panel, stop }` for the case view, or null where the browser cannot scan. The
 * button shows up once support is confirmed; a detected code goes to `onText`, a camera that
 * cannot be opened to `onError` in plain Chinese.
 */
export function cameraScanner(onText, onError) {
  if (!("BarcodeDetector" in window)) return null;
  const video = h("video", { muted: true, playsInline: true, "aria-label": "摄像头画面" });
  video.setAttribute("playsinline", "");
  let stream = null;
  let timer = 0;
  const stopBtn = h("button", { type: "button", onclick: () => stop() }, "停止扫码");
  const panel = h("div", { class: "counter-camera", hidden: true },
    video,
    h("p", { class: "muted small" }, "请将申请人手机上的亮证码对准摄像头"),
    stopBtn);
  const button = h("button", { type: "button", hidden: true, onclick: () => begin() }, "扫码");
  supported().then((ok) => {
    button.hidden = !ok;
  });

  function stop() {
    clearTimeout(timer);
    timer = 0;
    stream?.getTracks().forEach((t) => t.stop());
    stream = null;
    video.srcObject = null;
    panel.hidden = true;
    button.disabled = false;
  }

  async function begin() {
    if (stream) return;
    button.disabled = true;
    try {
      stream = await navigator.mediaDevices.getUserMedia({
        video: { facingMode: "environment" },
        audio: false,
      });
    } catch (err) {
      stop();
      onError(err?.name === "NotAllowedError"
        ? "浏览器未允许使用摄像头。请在浏览器设置中允许本页面使用摄像头，或改用扫码枪扫描"
        : "无法打开摄像头，请检查摄像头是否连接，或改用扫码枪扫描");
      return;
    }
    panel.hidden = false;
    video.srcObject = stream;
    await video.play().catch(() => {});
    const detector = new window.BarcodeDetector({ formats: ["qr_code"] });
    const look = async () => {
      if (!stream) return;
      try {
        const found = await detector.detect(video);
        const text = found.find((c) => c.rawValue)?.rawValue;
        if (text) {
          stop();
          onText(text);
          return;
        }
      } catch {
        // A frame that is not ready yet; the next one is tried.
      }
      if (stream) timer = setTimeout(look, 200);
    };
    look();
  }

  return { button, panel, stop };
}
