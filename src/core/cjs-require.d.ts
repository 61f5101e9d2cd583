// Synchronous `require` for the package's CommonJS dependencies, in both builds (see cjs-require.js).
export declare const requireDependency: (id: 'cookie' | 'negotiator') => unknown;
