/** Models `tessera ls` prints per page unless told (--limit, --all). */
export const LS_PAGE = 100;
