#!/usr/bin/python3
"""Makes fmnist's out-of-distribution (OOD) benchmark and its garments-as-product-photos set.

    /usr/bin/python3 scripts/ood/make-benchmark.py --out DIR --split dev|test [--per-set N]
        [--garments-per-class M] [--seed S] [--allow-missing]

writes, under DIR/<split>/ (replacing an earlier run's output there):
  ood/{letters,digits,photos,faces,text,blanks,noise,shapes}/   N images each (default 200)
  garments/<class-folder>/   M Fashion-MNIST *test* images per class (default 100) drawn as product
                             photos: coloured garments on near-white backgrounds (dev: test indices
                             0-4999, test: 5000-9999)
  garments/labels.csv        file (relative to garments/),label_index,test_index
  manifest.csv               every file: file (relative to DIR/<split>/),group,set,label_index,label,
                             test_index,source

Images are 200-800 px on a side, a mix of PNG and JPEG. Every image has its own random stream,
seeded by (seed, split, set, index), so the same arguments give byte-identical files (with the same
package versions), a smaller N gives a prefix of a larger one, and dev and test never share a stream.
Where the source allows, dev and test also use disjoint sources: fonts (alternate fonts of a fixed
list), sklearn digits (first/second half), LFW faces (first/second 50) and Fashion-MNIST indices.
Needs Debian's python3-numpy, -pil, -scipy, -sklearn, -skimage, mate-backgrounds and fonts-* (see
make-benchmark.sh, which installs them).
"""
import argparse
import colorsys
import csv
import glob
import gzip
import math
import os
import shutil
import sys
import time
import warnings

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageFont
from scipy import ndimage

BASE_SEED = 20261206
SPLITS = {"dev": 1, "test": 2}
OOD_SETS = ["letters", "digits", "photos", "faces", "text", "blanks", "noise", "shapes"]
SET_CODE = {name: k + 1 for k, name in enumerate(OOD_SETS + ["garments"])}
CLASS_FOLDERS = ["tshirt-top", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker",
                 "bag", "ankle-boot"]
CLASS_NAMES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
               "Bag", "Ankle boot"]
FMNIST_DIR = "/usr/share/datasets/fashion-mnist"
SKIMAGE_DATA = "/usr/lib/python3/dist-packages/skimage/data"
MATE_NATURE = "/usr/share/backgrounds/mate/nature"

# Fonts: globbed from these Debian packages' folders, sorted by file name; dev takes the even
# positions, test the odd ones. Symbol and maths fonts are left out.
FONT_GLOBS = [
    ("fonts-dejavu-core/-extra", "/usr/share/fonts/truetype/dejavu/DejaVu*.ttf"),
    ("fonts-liberation2", "/usr/share/fonts/truetype/liberation2/Liberation*.ttf"),
    ("fonts-liberation", "/usr/share/fonts/truetype/liberation/LiberationSansNarrow-*.ttf"),
    ("fonts-lato", "/usr/share/fonts/truetype/lato/Lato-*.ttf"),
    ("fonts-freefont-ttf", "/usr/share/fonts/truetype/freefont/Free*.ttf"),
    ("fonts-urw-base35", "/usr/share/fonts/opentype/urw-base35/*.otf"),
]
FONT_EXCLUDE = {"DejaVuMathTeXGyre.ttf", "D050000L.otf", "StandardSymbolsPS.otf"}

# Photo sources: (name, loader kind, path). skimage's bundled images load offline; scipy's raccoon
# face lives in scipy/misc/face.dat; mate-backgrounds' nature folder holds 12 real photos.
SKIMAGE_PHOTOS = ["chelsea.png", "coffee.png", "rocket.jpg", "motorcycle_left.png",
                  "hubble_deep_field.jpg", "moon.png", "coins.png", "clock_motion.png", "brick.png",
                  "grass.png", "gravel.png", "ihc.png", "retina.jpg"]
# Face sources: skimage astronaut (Eileen Collins) and camera (the cameraman), with face centres
# and sizes found with skimage's LBP frontal-face cascade; skimage's lfw_subset.npy (100 LFW faces,
# 25x25 grey, its first 100 rows; dev uses 0-49, test 50-99).
FACE_CROPS = {"astronaut.png": (232, 112, 95), "camera.png": (235, 152, 56)}

CORPUS = """The morning train was late again, and the platform filled with people holding coffee cups.
A small bakery on the corner sells bread that is still warm at seven o'clock.
The committee will meet on Thursday to review the budget for the coming year.
Rain is expected in the afternoon, with clearing skies and cooler temperatures by evening.
Please return the signed form to the front office before the end of the week.
The museum's new exhibition traces the history of printing from wood blocks to laser printers.
She planted tomatoes, basil and two rows of beans along the south side of the garden.
Results from the second experiment agree with the model to within three percent.
The bridge was closed for repairs, so the bus took the long road around the lake.
Chapter four explains how the engine converts heat into motion, with diagrams on each page.
Our library is open from nine to five on weekdays and until noon on Saturday.
A gentle wind moved across the field, and the tall grass bent toward the river.
The recipe calls for two eggs, a cup of flour, a pinch of salt and a little patience.
Every invoice must include the order number, the date of delivery and the total amount due.
The old lighthouse has guided ships past the rocks for more than a hundred years.
Students should bring a calculator, a ruler and two pencils to the examination.
In the evening the town square fills with music, children and the smell of roasted nuts.
The software update fixes several bugs and improves the speed of the search feature.
Mountains to the north were covered in snow long after the valley had turned green.
He wrote the letter by hand, folded it twice and sealed it in a plain white envelope.
The report recommends planting more trees along the main streets to reduce summer heat.
Tickets for the concert are available at the box office and cost twelve dollars each.
The cat slept on the windowsill all afternoon, waking only when the mail arrived.
Measurements were taken every hour and recorded in the notebook on the laboratory bench.""".split("\n")
HEADINGS = ["Introduction", "Notice", "Chapter 4", "Summary", "Minutes of the Meeting", "Results",
            "Weather", "Recipe", "Dear Friend,", "Terms and Conditions", "Section 2.1", "News"]


class Ctx:
    """What the generators share: the split, its fonts and the lazily loaded sources."""

    def __init__(self, split, allow_missing):
        self.split = split
        self.allow_missing = allow_missing
        self.missing = []
        fonts = []
        for pkg, pattern in FONT_GLOBS:
            found = [p for p in glob.glob(pattern) if os.path.basename(p) not in FONT_EXCLUDE]
            if not found:
                self.missing.append(f"fonts from {pkg} ({pattern})")
            fonts += found
        fonts.sort(key=lambda p: (os.path.basename(p), p))
        if len(fonts) < 4:
            sys.exit("make-benchmark: too few fonts found; install fonts-dejavu fonts-liberation2 ...")
        self.fonts = fonts[0::2] if split == "dev" else fonts[1::2]
        self._photos = None
        self._lfw = None
        self._faces = None
        self._digits = None
        self._page = None

    def need(self, what, ok):
        if not ok:
            self.missing.append(what)
        return ok

    def photos(self):
        if self._photos is None:
            srcs = []
            for f in SKIMAGE_PHOTOS:
                p = os.path.join(SKIMAGE_DATA, f)
                if self.need(f"skimage data {f} (python3-skimage)", os.path.exists(p)):
                    srcs.append(("skimage:" + f.split(".")[0], load_image(p)))
            face = scipy_face()
            if self.need("scipy.misc.face (python3-scipy)", face is not None):
                srcs.append(("scipy:face-raccoon", face))
            mate = sorted(glob.glob(os.path.join(MATE_NATURE, "*.jpg")))
            if self.need(f"{MATE_NATURE}/*.jpg (mate-backgrounds)", len(mate) > 0):
                srcs += [("mate:" + os.path.basename(p).split(".")[0], load_image(p)) for p in mate]
            if not srcs:
                sys.exit("make-benchmark: no photo source found")
            self._photos = srcs
        return self._photos

    def lfw(self):
        if self._lfw is None:
            p = os.path.join(SKIMAGE_DATA, "lfw_subset.npy")
            if self.need("skimage data lfw_subset.npy (python3-skimage)", os.path.exists(p)):
                a = np.load(p)[:100]
                self._lfw = (a[:50], 0) if self.split == "dev" else (a[50:], 50)
            else:
                self._lfw = (np.zeros((0, 25, 25)), 0)
        return self._lfw

    def face_photos(self):
        if self._faces is None:
            self._faces = []
            for f, box in FACE_CROPS.items():
                p = os.path.join(SKIMAGE_DATA, f)
                if self.need(f"skimage data {f} (python3-skimage)", os.path.exists(p)):
                    self._faces.append(("skimage:" + f.split(".")[0], load_image(p), box))
        return self._faces

    def digits(self):
        if self._digits is None:
            try:
                from sklearn.datasets import load_digits
                d = load_digits()
                imgs, labels = d.images, d.target
                half = len(imgs) // 2
                sl = slice(0, half) if self.split == "dev" else slice(half, len(imgs))
                self._digits = (imgs[sl], labels[sl], sl.start)
            except Exception:  # noqa: BLE001 - any failure means the source is missing
                self.need("sklearn load_digits (python3-sklearn)", False)
                self._digits = (np.zeros((0, 8, 8)), np.zeros(0, int), 0)
        return self._digits

    def page(self):
        if self._page is None:
            p = os.path.join(SKIMAGE_DATA, "page.png")
            self._page = load_image(p).convert("L") if self.need("skimage data page.png", os.path.exists(p)) else False
        return self._page


def load_image(path, max_side=1280):
    im = Image.open(path)
    if im.format == "JPEG":
        im.draft("RGB", (max_side, max_side))
    im = im.convert("RGB") if im.mode not in ("L", "RGB") else im
    if max(im.size) > max_side:
        s = max_side / max(im.size)
        im = im.resize((round(im.size[0] * s), round(im.size[1] * s)), Image.LANCZOS)
    return im.copy()


def scipy_face():
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from scipy import misc
            return Image.fromarray(misc.face())
    except Exception:  # noqa: BLE001
        return None


# ----------------------------------------------------------------------------------------- helpers

def to_u8(a):
    return np.clip(a + 0.5, 0, 255).astype(np.uint8)  # rounds half up; a is >= -0.5 after clipping


def rand_size(rng, lo=200, hi=800):
    w = int(rng.integers(lo, hi + 1))
    h = int(np.clip(round(w * math.exp(rng.uniform(-0.35, 0.35))), lo, hi))
    return w, h


def hsv(h, s, v):
    return np.array(colorsys.hsv_to_rgb(h % 1.0, s, v)) * 255.0


def light_colour(rng):
    k = rng.random()
    if k < 0.45:
        return np.full(3, rng.uniform(238, 255))                 # white paper
    if k < 0.65:
        return np.array([250, 244, 226]) - rng.uniform(0, 14)    # cream
    if k < 0.8:
        return np.full(3, rng.uniform(205, 235))                 # light grey
    return hsv(rng.random(), rng.uniform(0.06, 0.3), rng.uniform(0.88, 1.0))  # pastel


def dark_colour(rng):
    k = rng.random()
    if k < 0.45:
        return np.full(3, rng.uniform(0, 45))                    # black / charcoal
    return hsv(rng.random(), rng.uniform(0.4, 1.0), rng.uniform(0.06, 0.3))


def ink_colour(rng):
    k = rng.random()
    if k < 0.5:
        return np.full(3, rng.uniform(5, 70))                    # black / dark grey ink
    if k < 0.7:
        return hsv(rng.uniform(0.58, 0.68), rng.uniform(0.6, 1.0), rng.uniform(0.3, 0.7))  # blue
    return hsv(rng.random(), rng.uniform(0.55, 1.0), rng.uniform(0.35, 0.85))


def bright_ink(rng):
    k = rng.random()
    if k < 0.6:
        return np.full(3, rng.uniform(215, 255))
    return hsv(rng.random(), rng.uniform(0.2, 0.8), rng.uniform(0.8, 1.0))


def field(h, w, rng, grid, lo=1):
    """A smooth random field in [0, 1] (value noise: a random grid upscaled bicubically)."""
    g = rng.random((max(lo, grid[0]), max(lo, grid[1]))).astype(np.float32)
    return np.asarray(Image.fromarray(g, "F").resize((w, h), Image.BICUBIC))


def lighting(h, w, rng, strength):
    """A multiplicative light field: a linear gradient plus a vignette."""
    ys = np.linspace(-1, 1, h, dtype=np.float32)[:, None]
    xs = np.linspace(-1, 1, w, dtype=np.float32)[None, :]
    a = rng.uniform(0, 2 * math.pi)
    g = 1 + strength * rng.uniform(0.2, 1) * (math.cos(a) * xs + math.sin(a) * ys) / 2
    v = rng.uniform(0, strength)
    return g * (1 - v * (xs * xs + ys * ys) / 2)


def photo_fx(arr, rng, light=0.15, noise=(0.5, 4.0), blur=0.3):
    """Makes a clean rendering look photographed: uneven light, slight blur, sensor noise."""
    h, w = arr.shape[:2]
    if light > 0 and rng.random() < 0.8:
        arr = arr * lighting(h, w, rng, light)[..., None]
    if rng.random() < blur:
        im = Image.fromarray(to_u8(arr)).filter(ImageFilter.GaussianBlur(rng.uniform(0.4, 1.4)))
        arr = np.asarray(im, np.float32)
    sigma = rng.uniform(*noise)
    if sigma > 0:
        arr = arr + sigma * rng.standard_normal(arr.shape, dtype=np.float32)
    return arr


def flat(h, w, colour):
    return np.broadcast_to(np.asarray(colour, np.float32), (h, w, 3)).copy()


def compose(bg, colour, mask):
    m = mask[..., None]
    return bg * (1 - m) + np.asarray(colour, np.float32) * m


def pick(rng, seq):
    return seq[int(rng.integers(len(seq)))]


def glyph_mask(ch, font_path, px, stroke=0, outline=0):
    """The glyph as an L image cropped to its ink (outline > 0: only a ring of that width)."""
    font = ImageFont.truetype(font_path, px)
    sw = stroke + outline
    l, t, r, b = font.getbbox(ch, stroke_width=sw)
    im = Image.new("L", (r - l + 8, b - t + 8), 0)
    d = ImageDraw.Draw(im)
    d.text((4 - l, 4 - t), ch, font=font, fill=255, stroke_width=sw, stroke_fill=255)
    if outline:
        d.text((4 - l, 4 - t), ch, font=font, fill=0, stroke_width=stroke, stroke_fill=0)
    bbox = im.getbbox()
    return im.crop(bbox) if bbox else im


def elastic(mask, rng, amount):
    """Smoothly displaces a float mask by up to ~amount of its size (handwriting-like wobble)."""
    h, w = mask.shape
    s = amount * max(h, w)
    dy = (field(h, w, rng, (4, 4)) - 0.5) * 2 * s
    dx = (field(h, w, rng, (4, 4)) - 0.5) * 2 * s
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    return ndimage.map_coordinates(mask, [yy + dy, xx + dx], order=1, mode="constant")


def place(canvas_hw, mask_im, rng, fill_frac, centre_jitter=0.25, rotate=10.0, stretch=0.12):
    """Scales an L mask to fill about fill_frac of the canvas, rotates it, and returns a float
    mask of the canvas's size with it placed at a jittered position."""
    H, W = canvas_hw
    mw, mh = mask_im.size
    target = fill_frac * min(H, W)
    s = target / max(mw, mh)
    ax = math.exp(rng.uniform(-stretch, stretch))
    nw, nh = max(2, round(mw * s * ax)), max(2, round(mh * s / ax))
    m = mask_im.resize((nw, nh), Image.BICUBIC)
    if rotate:
        m = m.rotate(rng.uniform(-rotate, rotate), Image.BICUBIC, expand=True)
    if m.size[0] > W or m.size[1] > H:
        f = min(W / m.size[0], H / m.size[1]) * 0.98
        m = m.resize((max(1, int(m.size[0] * f)), max(1, int(m.size[1] * f))), Image.BICUBIC)
    free_x, free_y = W - m.size[0], H - m.size[1]
    x = int(np.clip(free_x / 2 + rng.uniform(-1, 1) * centre_jitter * free_x, 0, free_x))
    y = int(np.clip(free_y / 2 + rng.uniform(-1, 1) * centre_jitter * free_y, 0, free_y))
    out = Image.new("L", (W, H), 0)
    out.paste(m, (x, y))
    return np.asarray(out, np.float32) / 255.0


# ------------------------------------------------------------------------------------ OOD sets

def gen_letters(rng, ctx, i):
    """notMNIST-like: one letter A-J, big, in one of many fonts; mostly dark or coloured ink on
    light paper, a quarter light on dark; some outlined, slanted or lowercase."""
    W, H = rand_size(rng)
    ch = "ABCDEFGHIJ"[int(rng.integers(10))]
    if rng.random() < 0.15:
        ch = ch.lower()
    font = pick(rng, ctx.fonts)
    px = int(rng.integers(120, 320))
    outline = int(px * rng.uniform(0.02, 0.05)) if rng.random() < 0.15 else 0
    stroke = int(px * rng.uniform(0.01, 0.04)) if rng.random() < 0.2 else 0
    m = glyph_mask(ch, font, px, stroke, outline)
    mask = place((H, W), m, rng, rng.uniform(0.45, 0.85), rotate=12 if rng.random() < 0.6 else 0)
    if rng.random() < 0.25:
        bg, ink = dark_colour(rng), bright_ink(rng)
    else:
        bg, ink = light_colour(rng), ink_colour(rng)
    arr = compose(flat(H, W, bg), ink, mask)
    arr = photo_fx(arr, rng, light=0.2, noise=(0.0, 5.0))
    return Image.fromarray(to_u8(arr)), f"font:{os.path.basename(font)}:{ch}"


def gen_digits(rng, ctx, i):
    """MNIST-like digits: font digits with handwriting-like distortions, or sklearn's 8x8
    handwritten digits upscaled; dark ink on paper, or white on black as MNIST draws them."""
    W, H = rand_size(rng)
    imgs, labels, offset = ctx.digits()
    if len(imgs) and rng.random() < 0.5:
        k = int(rng.integers(len(imgs)))
        g = Image.fromarray((imgs[k] / 16.0).astype(np.float32), "F").resize((128, 128), Image.BICUBIC)
        g = np.pad(np.asarray(g), 16)
        g = ndimage.gaussian_filter(g, rng.uniform(3.0, 6.0))
        g = 1 / (1 + np.exp(-(g - rng.uniform(0.3, 0.45)) * rng.uniform(18, 30)))
        g = elastic(g.astype(np.float32), rng, rng.uniform(0.0, 0.05))
        m = Image.fromarray(to_u8(g * 255))
        m = m.crop(m.getbbox() or (0, 0, m.size[0], m.size[1]))
        src = f"sklearn-digits:{offset + k}:{labels[k]}"
    else:
        d = str(int(rng.integers(10)))
        font = pick(rng, ctx.fonts)
        px = int(rng.integers(100, 240))
        m = glyph_mask(d, font, px, int(px * rng.uniform(0.0, 0.07)))
        sh = rng.uniform(-0.3, 0.3)
        m = m.transform(m.size, Image.AFFINE, (1, sh, -sh * m.size[1] / 2, 0, 1, 0), Image.BICUBIC)
        g = np.asarray(m, np.float32) / 255.0
        g = np.pad(g, 8)
        m = Image.fromarray(to_u8(elastic(g, rng, rng.uniform(0.01, 0.06)) * 255))
        src = f"font:{os.path.basename(font)}:{d}"
    mnist_style = rng.random() < 0.4
    mask = place((H, W), m, rng, rng.uniform(0.5, 0.85), centre_jitter=0.1 if mnist_style else 0.3,
                 rotate=15)
    if mnist_style:
        bg, ink = np.full(3, rng.uniform(0, 20)), np.full(3, rng.uniform(225, 255))
    else:
        bg, ink = light_colour(rng), ink_colour(rng)
    arr = photo_fx(compose(flat(H, W, bg), ink, mask), rng, light=0 if mnist_style else 0.2,
                   noise=(0.0, 4.0), blur=0.1)
    return Image.fromarray(to_u8(arr)), src


def jitter_colour(im, rng):
    im = ImageEnhance.Brightness(im).enhance(rng.uniform(0.8, 1.2))
    im = ImageEnhance.Contrast(im).enhance(rng.uniform(0.8, 1.2))
    if im.mode == "RGB":
        im = ImageEnhance.Color(im).enhance(rng.uniform(0.7, 1.3))
    return im


def random_crop(im, rng, scale=(0.35, 1.0)):
    sw, sh = im.size
    s = rng.uniform(*scale)
    ar = math.exp(rng.uniform(-0.35, 0.35))
    cw = int(min(sw, s * min(sw, sh) * ar))
    ch = int(min(sh, s * min(sw, sh) / ar))
    x = int(rng.integers(0, sw - cw + 1))
    y = int(rng.integers(0, sh - ch + 1))
    return im.crop((x, y, x + cw, y + ch))


def fit_size(im, rng, lo=200, hi=800, max_up=2.5):
    """Resizes to a random long side in [lo, hi] (but not more than max_up times up)."""
    w, h = im.size
    long_side = int(rng.integers(lo, hi + 1))
    s = min(long_side / max(w, h), max_up)
    s = max(s, lo / min(w, h))
    nw, nh = min(hi, max(lo, round(w * s))), min(hi, max(lo, round(h * s)))
    return im.resize((nw, nh), Image.LANCZOS if s < 1 else Image.BICUBIC)


def gen_photos(rng, ctx, i):
    """Crops, scales, flips, small rotations and colour jitter of the offline sample photos."""
    name, src = pick(rng, ctx.photos())
    im = src
    if rng.random() < 0.25:
        a = rng.uniform(-8, 8)
        im = im.rotate(a, Image.BICUBIC)
        w, h = im.size
        f = 0.8
        im = im.crop((int(w * (1 - f) / 2), int(h * (1 - f) / 2), int(w * (1 + f) / 2), int(h * (1 + f) / 2)))
    im = random_crop(im, rng)
    if rng.random() < 0.5:
        im = im.transpose(Image.FLIP_LEFT_RIGHT)
    im = jitter_colour(im, rng)
    im = fit_size(im, rng).convert("RGB")
    arr = photo_fx(np.asarray(im, np.float32), rng, light=0.0, noise=(0.0, 2.5), blur=0.1)
    return Image.fromarray(to_u8(arr)), name


SKIN = [(255, 224, 189), (241, 194, 125), (224, 172, 105), (198, 134, 66), (141, 85, 36),
        (255, 205, 148), (92, 56, 34)]
HAIR = [(20, 20, 20), (70, 45, 25), (130, 90, 50), (220, 190, 110), (170, 60, 30), (150, 150, 150)]


def cartoon_face(rng):
    W, H = rand_size(rng, 200, 600)
    S = 2
    bg = light_colour(rng) if rng.random() < 0.7 else hsv(rng.random(), rng.uniform(0.3, 0.7), rng.uniform(0.6, 0.9))
    im = Image.new("RGB", (W * S, H * S), tuple(int(c) for c in bg))
    d = ImageDraw.Draw(im)
    m = min(W, H) * S
    cx = W * S / 2 + rng.uniform(-0.1, 0.1) * W * S
    cy = H * S / 2 + rng.uniform(-0.05, 0.1) * H * S
    fw = m * rng.uniform(0.45, 0.7) / 2
    fh = fw * rng.uniform(1.0, 1.3)
    emoji = rng.random() < 0.25
    skin = (255, 204, 40) if emoji else pick(rng, SKIN)
    line = max(2, int(m * 0.012))
    outline = (40, 30, 20) if rng.random() < 0.7 else None
    if not emoji and rng.random() < 0.85:  # hair behind the head
        hair = pick(rng, HAIR)
        hs = rng.uniform(1.05, 1.25)
        d.ellipse((cx - fw * hs, cy - fh * hs, cx + fw * hs, cy + fh * rng.uniform(0.1, 1.0)), fill=hair)
    if not emoji:  # ears
        for sx in (-1, 1):
            ex = cx + sx * fw
            d.ellipse((ex - fw * 0.15, cy - fh * 0.15, ex + fw * 0.15, cy + fh * 0.15), fill=skin,
                      outline=outline, width=line)
    d.ellipse((cx - fw, cy - fh, cx + fw, cy + fh), fill=skin, outline=outline, width=line)
    if not emoji and rng.random() < 0.6:  # fringe
        hair = pick(rng, HAIR)
        d.chord((cx - fw, cy - fh, cx + fw, cy + fh * rng.uniform(-0.2, 0.3)), 180, 360, fill=hair)
    ey = cy - fh * rng.uniform(0.05, 0.25)
    ex = fw * rng.uniform(0.3, 0.45)
    er = fw * rng.uniform(0.08, 0.16)
    eye_kind = int(rng.integers(3))
    for sx in (-1, 1):
        x = cx + sx * ex
        if eye_kind == 0:
            d.ellipse((x - er * 0.6, ey - er * 0.6, x + er * 0.6, ey + er * 0.6), fill=(25, 25, 25))
        elif eye_kind == 1:
            d.ellipse((x - er, ey - er * 0.7, x + er, ey + er * 0.7), fill="white", outline=(30, 30, 30), width=line)
            pr = er * 0.45
            d.ellipse((x - pr, ey - pr, x + pr, ey + pr), fill=pick(rng, [(60, 40, 20), (40, 90, 160), (30, 30, 30), (60, 120, 60)]))
        else:
            d.arc((x - er, ey - er, x + er, ey + er), 200, 340, fill=(25, 25, 25), width=line * 2)
        if rng.random() < 0.6:  # eyebrow
            d.line((x - er * 1.2, ey - er * 1.8, x + er * 1.2, ey - er * (1.6 + rng.uniform(-0.4, 0.4))),
                   fill=(40, 30, 20), width=line * 2)
    ny = cy + fh * 0.12
    if rng.random() < 0.7:
        nr = fw * 0.07
        d.ellipse((cx - nr, ny - nr, cx + nr, ny + nr), fill=tuple(int(c * 0.85) for c in skin))
    my = cy + fh * rng.uniform(0.35, 0.5)
    mw = fw * rng.uniform(0.3, 0.55)
    mk = rng.random()
    if mk < 0.5:
        d.arc((cx - mw, my - mw * 0.6, cx + mw, my + mw * 0.4), 20, 160, fill=(110, 30, 30), width=line * 2)
    elif mk < 0.7:
        d.chord((cx - mw, my - mw * 0.5, cx + mw, my + mw * 0.5), 0, 180, fill=(120, 20, 30), outline=(60, 10, 10), width=line)
    elif mk < 0.85:
        d.ellipse((cx - mw * 0.35, my - mw * 0.3, cx + mw * 0.35, my + mw * 0.3), fill=(110, 20, 30))
    else:
        d.line((cx - mw * 0.7, my, cx + mw * 0.7, my), fill=(90, 30, 30), width=line * 2)
    if rng.random() < 0.3:  # cheeks
        for sx in (-1, 1):
            x, y, r = cx + sx * fw * 0.55, cy + fh * 0.25, fw * 0.1
            d.ellipse((x - r, y - r, x + r, y + r), fill=(240, 150, 150))
    im = im.resize((W, H), Image.LANCZOS)
    arr = photo_fx(np.asarray(im, np.float32), rng, light=0.1, noise=(0.0, 3.0))
    return Image.fromarray(to_u8(arr)), "cartoon"


def gen_faces(rng, ctx, i):
    """Real faces (LFW 25x25 upscaled; crops around the astronaut's and the cameraman's faces) and,
    for about a quarter, simple cartoon faces drawn here."""
    lfw, offset = ctx.lfw()
    photos = ctx.face_photos()
    k = rng.random()
    if k < 0.25 or (len(lfw) == 0 and not photos):
        return cartoon_face(rng)
    if k < 0.8 and len(lfw):
        j = int(rng.integers(len(lfw)))
        g = Image.fromarray(to_u8(lfw[j] * 255))
        c = int(rng.integers(0, 4))
        x, y = int(rng.integers(0, c + 1)), int(rng.integers(0, c + 1))
        g = g.crop((x, y, 25 - (c - x), 25 - (c - y)))
        if rng.random() < 0.5:
            g = g.transpose(Image.FLIP_LEFT_RIGHT)
        side = int(rng.integers(200, 500))
        g = g.resize((side, int(side * g.size[1] / g.size[0])), Image.BICUBIC)
        g = g.filter(ImageFilter.GaussianBlur(side / 25 * 0.3))  # hides the 25x25 grid
        arr = np.asarray(g, np.float32)[..., None].repeat(3, 2)
        if rng.random() < 0.4:  # a warm (old print) or cool (webcam) tint
            warm = np.array([1.0, rng.uniform(0.86, 0.95), rng.uniform(0.65, 0.85)], np.float32)
            arr = arr * (warm if rng.random() < 0.7 else warm[::-1].copy())
        arr = photo_fx(arr, rng, light=0.1, noise=(0.5, 4.0), blur=0.2)
        return Image.fromarray(to_u8(arr)), f"lfw:{offset + j}"
    name, src, (fx, fy, fs) = pick(rng, photos)
    side = fs * rng.uniform(1.3, 3.2)
    cx = fx + rng.uniform(-0.15, 0.15) * side
    cy = fy + rng.uniform(-0.1, 0.25) * side
    ar = math.exp(rng.uniform(-0.2, 0.2))
    w2, h2 = side * ar / 2, side / ar / 2
    box = [cx - w2, cy - h2, cx + w2, cy + h2]
    dx = max(0, -box[0]) - max(0, box[2] - src.size[0])
    dy = max(0, -box[1]) - max(0, box[3] - src.size[1])
    box = [int(box[0] + dx), int(box[1] + dy), int(box[2] + dx), int(box[3] + dy)]
    im = src.crop(box)
    if rng.random() < 0.5:
        im = im.transpose(Image.FLIP_LEFT_RIGHT)
    im = fit_size(jitter_colour(im, rng), rng, max_up=4).convert("RGB")
    arr = photo_fx(np.asarray(im, np.float32), rng, light=0.0, noise=(0.0, 2.5), blur=0.15)
    return Image.fromarray(to_u8(arr)), name


def wrap(words, font, width):
    lines, cur = [], ""
    for w in words:
        t = (cur + " " + w).strip()
        if cur and font.getlength(t) > width:
            lines.append(cur)
            cur = w
        else:
            cur = t
    if cur:
        lines.append(cur)
    return lines


def gen_text(rng, ctx, i):
    """Printed pages and paragraphs: text in a font on paper (or light on a dark screen), with a
    heading sometimes and two columns sometimes; a few crops of skimage's scanned page."""
    page = ctx.page()
    if page and rng.random() < 0.1:
        im = random_crop(page, rng, (0.5, 1.0))
        im = fit_size(im, rng, max_up=4).convert("RGB")
        arr = photo_fx(np.asarray(im, np.float32), rng, light=0.1, noise=(0.0, 3.0))
        return Image.fromarray(to_u8(arr)), "skimage:page"
    W, H = rand_size(rng, 240, 800)
    dark = rng.random() < 0.12
    bg, ink = (dark_colour(rng), bright_ink(rng)) if dark else (light_colour(rng), ink_colour(rng) if rng.random() < 0.3 else np.full(3, rng.uniform(0, 60)))
    im = Image.new("RGB", (W, H), tuple(int(c) for c in bg))
    d = ImageDraw.Draw(im)
    font_path = pick(rng, ctx.fonts)
    margin = int(min(W, H) * rng.uniform(0.04, 0.12))
    cols = 2 if W > 500 and rng.random() < 0.2 else 1
    gap = int(W * 0.04)
    col_w = (W - 2 * margin - (cols - 1) * gap) / cols
    cpl = rng.uniform(22, 70) / cols
    size = max(9, int(col_w / (cpl * 0.5)))
    font = ImageFont.truetype(font_path, size)
    lh = int(size * rng.uniform(1.15, 1.6))
    fill = tuple(int(c) for c in ink)
    y = margin
    if rng.random() < 0.5:
        hf = ImageFont.truetype(font_path, int(size * rng.uniform(1.4, 2.2)))
        head = pick(rng, HEADINGS)
        d.text((margin, y), head, font=hf, fill=fill)
        y += int(hf.size * 1.6)
    col, x0, top = 0, margin, y
    sentences = [CORPUS[int(j)] for j in rng.permutation(len(CORPUS))]
    k = 0
    while col < cols and k < len(sentences):
        n = int(rng.integers(1, 4))
        para = " ".join(sentences[k:k + n]).split()
        k += n
        for line in wrap(para, font, col_w):
            if y + lh > H - margin:
                col += 1
                x0 += int(col_w + gap)
                y = top
                if col >= cols:
                    break
            d.text((x0, y), line, font=font, fill=fill)
            y += lh
        y += int(lh * rng.uniform(0.3, 1.0))
        if k >= len(sentences):
            k = 0
            sentences = [CORPUS[int(j)] for j in rng.permutation(len(CORPUS))]
    if rng.random() < 0.4:
        im = im.rotate(rng.uniform(-4, 4), Image.BICUBIC, fillcolor=tuple(int(c) for c in bg))
    arr = photo_fx(np.asarray(im, np.float32), rng, light=0.2, noise=(0.0, 4.0))
    return Image.fromarray(to_u8(arr)), f"font:{os.path.basename(font_path)}"


def gen_blanks(rng, ctx, i):
    """Uniform colours, gradients, and flat surfaces photographed (noise, vignette, light fall-off)."""
    W, H = rand_size(rng)
    k = rng.random()
    pal = [lambda: np.full(3, 255.0), lambda: np.full(3, 0.0), lambda: np.full(3, rng.uniform(20, 235)),
           lambda: hsv(rng.random(), rng.uniform(0.2, 1), rng.uniform(0.2, 1)), lambda: light_colour(rng),
           lambda: dark_colour(rng)]
    c1 = pal[int(rng.integers(len(pal)))]()
    if k < 0.4:
        return Image.fromarray(to_u8(flat(H, W, c1))), "uniform"
    if k < 0.7:
        c2 = pal[int(rng.integers(len(pal)))]()
        ys = np.linspace(-1, 1, H, dtype=np.float32)[:, None]
        xs = np.linspace(-1, 1, W, dtype=np.float32)[None, :]
        if rng.random() < 0.6:
            a = rng.uniform(0, 2 * math.pi)
            t = (math.cos(a) * xs + math.sin(a) * ys) / 2 + 0.5
            kind = "linear-gradient"
        else:
            ox, oy = rng.uniform(-0.5, 0.5, 2)
            t = np.sqrt((xs - ox) ** 2 + (ys - oy) ** 2) / 1.6
            kind = "radial-gradient"
        t = np.clip(t, 0, 1)[..., None]
        arr = c1 * (1 - t) + c2 * t
        return Image.fromarray(to_u8(arr + rng.uniform(0, 1.5) * rng.standard_normal(arr.shape, dtype=np.float32))), kind
    arr = photo_fx(flat(H, W, c1), rng, light=0.3, noise=(1.0, 8.0), blur=0.0)
    return Image.fromarray(to_u8(arr)), "noisy-flat"


def gen_noise(rng, ctx, i):
    W, H = rand_size(rng)
    k = int(rng.integers(6))
    colour = rng.random() < 0.5
    shape = (H, W, 3) if colour else (H, W, 1)
    if k == 0:
        arr, kind = rng.uniform(0, 256, shape).astype(np.float32), "uniform"
    elif k == 1:
        arr, kind = rng.uniform(60, 196) + rng.uniform(15, 80) * rng.standard_normal(shape, dtype=np.float32), "gaussian"
    elif k == 2:
        base = rng.uniform(0, 255)
        arr = np.full(shape, base, np.float32)
        r = rng.random((H, W, 1), dtype=np.float32)
        p = rng.uniform(0.02, 0.3)
        arr = np.where(r < p / 2, 0.0, np.where(r > 1 - p / 2, 255.0, arr)).astype(np.float32)
        kind = "salt-and-pepper"
    elif k == 3:  # Perlin-ish blobs: octaves of value noise
        g0 = int(rng.integers(2, 8))
        chans = []
        for _ in range(shape[2]):
            acc = np.zeros((H, W), np.float32)
            amp, tot = 1.0, 0.0
            for o in range(int(rng.integers(2, 6))):
                acc += amp * field(H, W, rng, (g0 * 2 ** o, g0 * 2 ** o))
                tot += amp
                amp *= rng.uniform(0.4, 0.65)
            chans.append(acc / tot)
        t = np.stack(chans, -1)
        t = (t - t.min()) / max(1e-6, float(t.max() - t.min()))
        if not colour and rng.random() < 0.5:  # a two-colour ramp
            c1, c2 = hsv(rng.random(), rng.uniform(0.3, 1), rng.uniform(0.1, 0.6)), hsv(rng.random(), rng.uniform(0.2, 1), rng.uniform(0.6, 1))
            arr = c1 * (1 - t) + c2 * t
        else:
            arr = t * 255
        kind = "perlin-blobs"
    elif k == 4:  # 1/f^beta noise made in the frequency domain
        beta = rng.uniform(0.8, 2.0)
        fy = np.fft.fftfreq(H)[:, None]
        fx = np.fft.rfftfreq(W)[None, :]
        f = np.sqrt(fx * fx + fy * fy)
        f[0, 0] = 1
        chans = []
        for _ in range(shape[2]):
            spec = np.fft.rfft2(rng.standard_normal((H, W))) / f ** (beta / 2)
            c = np.fft.irfft2(spec, s=(H, W))
            chans.append((c - c.mean()) / (c.std() + 1e-9))
        arr = 128 + rng.uniform(30, 60) * np.stack(chans, -1)
        kind = "pink-noise"
    else:  # blocky noise: a small random image upscaled with nearest neighbour
        b = int(rng.integers(4, 40))
        small = rng.uniform(0, 256, (max(1, H // b), max(1, W // b), shape[2])).astype(np.float32)
        arr = np.asarray(Image.fromarray(to_u8(small[..., 0] if shape[2] == 1 else small)).resize((W, H), Image.NEAREST), np.float32)
        arr = arr.reshape(H, W, -1)
        kind = "blocks"
    arr = np.broadcast_to(arr, (H, W, 3)) if arr.shape[2] == 1 else arr
    return Image.fromarray(to_u8(arr)), kind + ("-colour" if colour else "-grey")


def shape_points(kind, cx, cy, r, rng):
    rot = rng.uniform(0, 2 * math.pi)
    if kind == "triangle":
        n, radii = 3, [r] * 3
    elif kind == "square":
        n, radii = 4, [r] * 4
    elif kind == "star":
        n = int(rng.integers(5, 9))
        inner = rng.uniform(0.35, 0.55)
        pts = []
        for j in range(2 * n):
            rr = r if j % 2 == 0 else r * inner
            a = rot + math.pi * j / n
            pts.append((cx + rr * math.cos(a), cy + rr * math.sin(a)))
        return pts
    else:  # random polygon: random radii at sorted random angles
        n = int(rng.integers(5, 11))
        angs = np.sort(rng.uniform(0, 2 * math.pi, n))
        return [(cx + r * rng.uniform(0.4, 1.0) * math.cos(a), cy + r * rng.uniform(0.4, 1.0) * math.sin(a)) for a in angs]
    return [(cx + radii[j] * math.cos(rot + 2 * math.pi * j / n), cy + radii[j] * math.sin(rot + 2 * math.pi * j / n)) for j in range(n)]


SHAPES = ["circle", "ellipse", "triangle", "square", "star", "ring", "line", "cross", "polygon"]


def gen_shapes(rng, ctx, i):
    """Geometric shapes, filled or outlined, on plain light backgrounds (a few on dark)."""
    W, H = rand_size(rng)
    S = 2
    bg = light_colour(rng) if rng.random() < 0.85 else dark_colour(rng)
    im = Image.new("RGB", (W * S, H * S), tuple(int(c) for c in bg))
    d = ImageDraw.Draw(im)
    n = 1 if rng.random() < 0.6 else int(rng.integers(2, 6))
    kinds = []
    for _ in range(n):
        kind = pick(rng, SHAPES)
        kinds.append(kind)
        m = min(W, H) * S
        r = m * (rng.uniform(0.2, 0.42) if n == 1 else rng.uniform(0.08, 0.25))
        cx = rng.uniform(r, W * S - r) if W * S > 2 * r else W * S / 2
        cy = rng.uniform(r, H * S - r) if H * S > 2 * r else H * S / 2
        col = tuple(int(c) for c in (ink_colour(rng) if rng.random() < 0.5 else hsv(rng.random(), rng.uniform(0.5, 1), rng.uniform(0.5, 1))))
        filled = rng.random() < 0.5
        w = max(2, int(r * rng.uniform(0.04, 0.15)))
        fill, outline = (col, None) if filled else (None, col)
        if kind == "circle":
            d.ellipse((cx - r, cy - r, cx + r, cy + r), fill=fill, outline=outline, width=w)
        elif kind == "ellipse":
            e = rng.uniform(0.4, 0.8)
            d.ellipse((cx - r, cy - r * e, cx + r, cy + r * e), fill=fill, outline=outline, width=w)
        elif kind == "ring":
            d.ellipse((cx - r, cy - r, cx + r, cy + r), outline=col, width=max(w, int(r * rng.uniform(0.1, 0.4))))
        elif kind == "line":
            a = rng.uniform(0, math.pi)
            d.line((cx - r * math.cos(a), cy - r * math.sin(a), cx + r * math.cos(a), cy + r * math.sin(a)), fill=col, width=w)
        elif kind == "cross":
            a = rng.uniform(0, math.pi / 2)
            t = max(w, int(r * rng.uniform(0.12, 0.3)))
            for b in (a, a + math.pi / 2):
                d.line((cx - r * math.cos(b), cy - r * math.sin(b), cx + r * math.cos(b), cy + r * math.sin(b)), fill=col, width=t)
        else:
            pts = shape_points(kind, cx, cy, r, rng)
            d.polygon(pts, fill=fill, outline=outline, width=w if outline else 1)
    im = im.resize((W, H), Image.LANCZOS)
    arr = photo_fx(np.asarray(im, np.float32), rng, light=0.12, noise=(0.0, 3.0), blur=0.15)
    return Image.fromarray(to_u8(arr)), "+".join(kinds)


GENERATORS = {"letters": gen_letters, "digits": gen_digits, "photos": gen_photos, "faces": gen_faces,
              "text": gen_text, "blanks": gen_blanks, "noise": gen_noise, "shapes": gen_shapes}

# ------------------------------------------------------------------------------------- garments

GARMENT_COLOURS = {
    "black": (32, 32, 36), "charcoal": (62, 64, 68), "grey": (128, 128, 132), "heather": (172, 172, 170),
    "white": (244, 244, 242), "off-white": (236, 232, 222), "cream": (238, 228, 205), "navy": (36, 46, 82),
    "royal": (52, 82, 170), "sky": (145, 182, 222), "red": (182, 36, 42), "burgundy": (112, 30, 46),
    "pink": (232, 152, 172), "olive": (102, 106, 62), "forest": (40, 86, 56), "mustard": (204, 162, 52),
    "beige": (208, 188, 152), "khaki": (176, 160, 116), "brown": (112, 76, 46), "tan": (192, 146, 100),
    "denim": (66, 92, 134), "light-denim": (124, 152, 188), "teal": (40, 120, 126), "purple": (102, 72, 142),
    "orange": (226, 122, 42), "coral": (240, 130, 112), "yellow": (236, 206, 70), "mint": (170, 222, 196),
}
_TOPS = list(GARMENT_COLOURS) + ["white", "white", "black", "navy", "grey", "heather"]
CLASS_COLOURS = {
    0: _TOPS, 2: _TOPS, 3: _TOPS, 4: _TOPS + ["beige", "khaki", "charcoal", "brown"], 6: _TOPS + ["white", "sky"],
    1: ["denim", "denim", "light-denim", "black", "charcoal", "khaki", "beige", "navy", "grey", "olive", "white", "brown", "cream"],
    5: ["brown", "tan", "black", "beige", "white", "red", "navy", "cream", "khaki"],
    7: ["white", "white", "white", "black", "grey", "navy", "red", "royal", "pink", "beige", "off-white", "heather"],
    8: ["black", "brown", "tan", "beige", "red", "navy", "burgundy", "cream", "olive", "white", "pink", "mustard"],
    9: ["brown", "tan", "black", "black", "burgundy", "beige", "grey", "olive", "charcoal"],
}


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * k:8 + 4 * k], "big") for k in range(ndim)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def gen_garment(rng, img28, label):
    """One Fashion-MNIST image as a product photo: the 28x28 upscaled bicubically, its intensity
    taken as how much darker than the backdrop the garment is (as the dataset was made), tinted with a
    plausible colour, on a near-white studio background with a soft shadow, random margins and sensor noise."""
    s = int(round(28 * rng.uniform(8, 20)))
    mfrac = rng.uniform(0.04, 0.45, 4)  # left, top, right, bottom margins as fractions of s
    scale = min(1.0, 800 / (s * (1 + mfrac[0] + mfrac[2])), 800 / (s * (1 + mfrac[1] + mfrac[3])))
    s = int(s * scale)
    l, t, r, b = (int(round(f * s)) for f in mfrac)
    W, H = max(200, s + l + r), max(200, s + t + b)
    I28 = img28.astype(np.float32) / 255.0
    # The silhouette: soft coverage upscaled, then sharpened to an edge a few pixels wide.
    cov = Image.fromarray(np.minimum(I28 / 0.2, 1), "F").resize((112, 112), Image.BICUBIC)
    cov = ndimage.gaussian_filter(np.asarray(cov), 1.6)  # rounds the 28x28 staircase off
    cov = np.asarray(Image.fromarray(cov, "F").resize((s, s), Image.BICUBIC))
    alpha = np.clip((cov - 0.3) / 0.3, 0, 1)
    alpha = alpha * alpha * (3 - 2 * alpha)  # smoothstep
    # The shading: the intensity with the background filled from the nearest garment pixel, so
    # upscaling does not darken the garment's rim by mixing it with the black background.
    inside28 = I28 > 0.03
    if inside28.any():
        idx = ndimage.distance_transform_edt(~inside28, return_distances=False, return_indices=True)
        I28 = I28[idx[0], idx[1]]
    I = np.clip(np.asarray(Image.fromarray(I28, "F").resize((s, s), Image.BICUBIC)), 0, 1)
    # Fashion-MNIST was made from product photos on white, converted to grey and inverted: a pixel's
    # intensity is how much darker than the backdrop the garment was there (a white shirt is faint, a
    # black boot bright). So the photo's luma is the backdrop less that intensity, tinted with a colour.
    name = pick(rng, CLASS_COLOURS[label])
    base = np.array(GARMENT_COLOURS[name], np.float32) * rng.uniform(0.92, 1.06, 3).astype(np.float32)
    tint = base / max(1.0, float(base.mean()))
    tint = 1 + rng.uniform(0.3, 1.0) * (tint - 1)  # part of the colour: luma comes from the intensity
    bgl = rng.uniform(226, 252)
    depth = rng.uniform(0.85, 1.0)
    luma = bgl * (1 - depth * I)
    garment = np.clip(luma[..., None] * tint, 0, 255)
    garment *= 1 + 0.015 * rng.standard_normal((s, s, 1), dtype=np.float32)  # fabric grain

    tint = rng.uniform(-3, 3, 3).astype(np.float32)
    ys = np.linspace(0, 1, H, dtype=np.float32)[:, None, None]
    grad = rng.uniform(-14, 6)  # studio sweep: usually darker towards the bottom or top
    a_full = np.zeros((H, W), np.float32)
    a_full[t:t + s, l:l + s] = alpha
    # A soft contact shadow: the garment's silhouette blurred (at quarter size: it is smooth
    # anyway) and shifted down/right.
    q = Image.fromarray(to_u8(a_full * 255)).resize((max(1, W // 4), max(1, H // 4)), Image.BILINEAR)
    q = q.filter(ImageFilter.GaussianBlur(rng.uniform(1, 3.5) * s / 400)).resize((W, H), Image.BILINEAR)
    sx, sy = int(rng.uniform(-0.01, 0.03) * s), int(rng.uniform(0.005, 0.04) * s)
    sh = np.roll(np.asarray(q, np.float32), (sy, sx), (0, 1))
    light = lighting(H, W, rng, 0.06) * (1 - rng.uniform(0.08, 0.25) / 255 * sh)
    arr = (bgl + tint + grad * ys) * light[..., None]  # (H, W, 3)
    box = arr[t:t + s, l:l + s]  # a view: compositing the garment writes into arr
    a3 = alpha[..., None]
    box *= 1 - a3
    box += garment * a3
    arr += rng.uniform(0.8, 3.0) * rng.standard_normal(arr.shape, dtype=np.float32)
    return Image.fromarray(to_u8(arr)), name


# ------------------------------------------------------------------------------------- driving

def image_rng(seed, split, set_name, i):
    return np.random.default_rng([seed, SPLITS[split], SET_CODE[set_name], i])


def save(im, path_noext, rng, jpeg_p=0.5, q=(72, 96)):
    """Saves as JPEG (fixed quality drawn from rng) or PNG; returns the path written."""
    if rng.random() < jpeg_p:
        path = path_noext + ".jpg"
        im.save(path, "JPEG", quality=int(rng.integers(*q)))
    else:
        path = path_noext + ".png"
        im.save(path, "PNG", compress_level=1)
    return path


def prepare_out(root):
    if os.path.isdir(root) and os.listdir(root):
        if not os.path.exists(os.path.join(root, "manifest.csv")):
            sys.exit(f"make-benchmark: {root} exists and holds no manifest.csv; refusing to replace it")
        shutil.rmtree(root)
    os.makedirs(root)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True, help="output folder; the split goes to OUT/<split>/")
    ap.add_argument("--split", required=True, choices=sorted(SPLITS))
    ap.add_argument("--per-set", type=int, default=200, help="images per OOD set (default 200)")
    ap.add_argument("--garments-per-class", type=int, default=100, help="garment images per class (default 100)")
    ap.add_argument("--seed", type=int, default=BASE_SEED, help=f"base seed (default {BASE_SEED})")
    ap.add_argument("--allow-missing", action="store_true",
                    help="go on when a source (font package, sample image) is missing; the output then differs")
    args = ap.parse_args()

    root = os.path.join(args.out, args.split)
    ctx = Ctx(args.split, args.allow_missing)
    # Load the sources up front, so missing ones are reported before anything is written.
    ctx.photos(), ctx.lfw(), ctx.face_photos(), ctx.digits(), ctx.page()
    if ctx.missing and not args.allow_missing:
        sys.exit("make-benchmark: missing sources (run scripts/ood/make-benchmark.sh, or pass --allow-missing):\n  "
                 + "\n  ".join(ctx.missing))
    for m in ctx.missing:
        print(f"make-benchmark: warning: missing {m}", file=sys.stderr)
    prepare_out(root)

    rows = []
    t_all = time.perf_counter()
    for name in OOD_SETS:
        t0 = time.perf_counter()
        d = os.path.join(root, "ood", name)
        os.makedirs(d)
        for i in range(args.per_set):
            rng = image_rng(args.seed, args.split, name, i)
            im, src = GENERATORS[name](rng, ctx, i)
            path = save(im, os.path.join(d, f"{name}-{i:04d}"), rng)
            rows.append((os.path.relpath(path, root), "ood", name, "", "", "", src))
        print(f"{args.split}/ood/{name}: {args.per_set} images, {time.perf_counter() - t0:.1f} s", file=sys.stderr)

    t0 = time.perf_counter()
    images = read_idx(os.path.join(FMNIST_DIR, "t10k-images-idx3-ubyte.gz"))
    labels = read_idx(os.path.join(FMNIST_DIR, "t10k-labels-idx1-ubyte.gz"))
    lo, hi = (0, 5000) if args.split == "dev" else (5000, 10000)
    pick_rng = np.random.default_rng([args.seed, SPLITS[args.split], SET_CODE["garments"], 1 << 20])
    gdir = os.path.join(root, "garments")
    glabels = []
    for c, folder in enumerate(CLASS_FOLDERS):
        os.makedirs(os.path.join(gdir, folder))
        pool = np.flatnonzero(labels[lo:hi] == c) + lo
        n = min(args.garments_per_class, len(pool))
        if n < args.garments_per_class:
            print(f"make-benchmark: warning: only {n} {folder} images in test indices {lo}-{hi - 1}", file=sys.stderr)
        chosen = np.sort(pick_rng.permutation(pool)[:n])
        for ti in chosen:
            ti = int(ti)
            rng = image_rng(args.seed, args.split, "garments", ti)
            im, colour = gen_garment(rng, images[ti], c)
            path = save(im, os.path.join(gdir, folder, f"{folder}-t{ti:05d}"), rng, jpeg_p=0.7, q=(82, 96))
            glabels.append((os.path.relpath(path, gdir), c, ti))
            rows.append((os.path.relpath(path, root), "garments", "garments", c, CLASS_NAMES[c], ti,
                         f"fashion-mnist-t10k:{ti}:{colour}"))
    with open(os.path.join(gdir, "labels.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["file", "label_index", "test_index"])
        w.writerows(glabels)
    print(f"{args.split}/garments: {len(glabels)} images, {time.perf_counter() - t0:.1f} s", file=sys.stderr)

    with open(os.path.join(root, "manifest.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["file", "group", "set", "label_index", "label", "test_index", "source"])
        w.writerows(rows)
    print(f"{args.split}: {len(rows)} files in {root}, {time.perf_counter() - t_all:.1f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
