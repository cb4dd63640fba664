/* SPDX-License-Identifier: GPL-3.0-or-later */
/* placeholder until the engine lands */
int main(void) { return 0; }
