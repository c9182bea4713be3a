/* font.h (internal to scheduler/): a 5x7 bitmap font for the contact sheet labels.
 * Glyphs cover printable ASCII (0x20..0x7e); other bytes draw as '?'. Each glyph sits in
 * a SCHED_FONT_ADVANCE x SCHED_FONT_LINE cell (one column and two rows of spacing). */
#ifndef TRYON_SCHEDULER_FONT_H
#define TRYON_SCHEDULER_FONT_H

#include <stdint.h>

#include "common/common.h"

#define SCHED_FONT_W 5
#define SCHED_FONT_H 7
#define SCHED_FONT_ADVANCE 6 /* pixels from one glyph to the next */
#define SCHED_FONT_LINE 9    /* pixels from one text line to the next */

/* Rows of the glyph for byte ch, top first: SCHED_FONT_H strings of SCHED_FONT_W
 * characters, '#' for ink and '.' for background. */
const char *const *sched_font_glyph(unsigned char ch);
/* Width in pixels of text drawn with sched_font_draw. */
int sched_font_width(const char *text);
/* Draw text with its top-left corner at (x, y) in colour rgb on an RGB or RGBA image
 * (alpha set to 255 where ink falls); pixels outside the image are clipped. */
void sched_font_draw(struct img8 *im, int x, int y, const char *text, const uint8_t rgb[3]);

#endif
