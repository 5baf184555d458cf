// Where the project's files are, whether this code runs from src/ (tests) or from dist/src/ (npm start).
import path from 'node:path';

const here = path.resolve(__dirname, '..');
/** The project root: the folder with package.json, views/, public/ and tools/. */
export const PROJECT_ROOT = path.basename(here) === 'dist' ? path.dirname(here) : here;
