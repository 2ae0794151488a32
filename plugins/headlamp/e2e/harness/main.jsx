// The e2e harness shell: what Headlamp's frontend/src/index.tsx, App.tsx, AppContainer.tsx and
// Layout.tsx do, written again here because @kinvolk/headlamp-plugin's lib/ ships Headlamp's
// frontend without those four files. Everything imported from '@kinvolk/headlamp-plugin/lib/...'
// is Headlamp's own code: its redux store, react-query client, router (RouteSwitcher with its
// AuthRoute), Sidebar, theme, i18n, API client and plugin loader (Plugins ->
// fetchAndExecutePlugins, which fetches /plugins, then the plugin's main.js and package.json,
// and runs it against window.pluginLib exactly as Headlamp does). The harness adds only the
// page layout and the /config fetch that Layout.tsx does (lib/ ships no TopBar and no DetailsDrawer).
import '@kinvolk/headlamp-plugin/lib/i18n/config';
import '@kinvolk/headlamp-plugin/lib/plugin'; // sets window.pluginLib, as Headlamp's bundle does
import CssBaseline from '@mui/material/CssBaseline';
import Box from '@mui/material/Box';
import { ThemeProvider } from '@mui/material/styles';
import { QueryClientProvider, useQuery } from '@tanstack/react-query';
import { SnackbarProvider } from 'notistack';
import React, { useMemo } from 'react';
import { createRoot } from 'react-dom/client';
import { I18nextProvider } from 'react-i18next';
import { Provider, useDispatch } from 'react-redux';
import { BrowserRouter } from 'react-router-dom';
import i18n from '@kinvolk/headlamp-plugin/lib/i18n/config';
import { useCurrentAppTheme } from '@kinvolk/headlamp-plugin/lib/components/App/themeSlice';
import RouteSwitcher from '@kinvolk/headlamp-plugin/lib/components/App/RouteSwitcher';
import Sidebar from '@kinvolk/headlamp-plugin/lib/components/Sidebar';
import { request } from '@kinvolk/headlamp-plugin/lib/lib/k8s/api/v1/clusterRequests';
import { queryClient } from '@kinvolk/headlamp-plugin/lib/lib/queryClient';
import { setStore } from '@kinvolk/headlamp-plugin/lib/lib/router/createRouteURL';
import { createMuiTheme } from '@kinvolk/headlamp-plugin/lib/lib/themes';
import Plugins from '@kinvolk/headlamp-plugin/lib/plugin/Plugins';
import { setConfig } from '@kinvolk/headlamp-plugin/lib/redux/configSlice';
import store from '@kinvolk/headlamp-plugin/lib/redux/stores/store';
import { setDetailDrawerEnabled } from '@kinvolk/headlamp-plugin/lib/redux/drawerModeSlice';
import { useTypedSelector } from '@kinvolk/headlamp-plugin/lib/redux/hooks';

setStore(store);
// lib/ does not ship Layout's DetailsDrawer: links open full pages, as with Headlamp's setting
// "details in a drawer" off.
store.dispatch(setDetailDrawerEnabled(false));

function Layout() {
  const dispatch = useDispatch();
  const pluginsLoaded = useTypedSelector(s => s.plugins.loaded);
  // As Layout.tsx's fetchConfig: the backend's /config names the clusters.
  useQuery({
    queryKey: ['cluster-fetch'],
    queryFn: () =>
      request('/config', {}, false, false).then(config => {
        const clusters = {};
        (config?.clusters ?? []).forEach(c => (clusters[c.name] = c));
        dispatch(setConfig({ ...config, clusters }));
        return config;
      }),
  });
  return (
    <Box sx={{ display: 'flex' }}>
      <CssBaseline enableColorScheme />
      <Plugins />
      <Sidebar />
      <Box component="main" id="main" sx={{ flexGrow: 1, p: 2, minWidth: 0 }}>
        {pluginsLoaded ? <RouteSwitcher requiresToken={() => false} /> : 'Loading plugins…'}
      </Box>
    </Box>
  );
}

function Themed({ children }) {
  const current = useCurrentAppTheme();
  const theme = useMemo(() => createMuiTheme(current), [current]);
  return (
    <I18nextProvider i18n={i18n}>
      <ThemeProvider theme={theme}>{children}</ThemeProvider>
    </I18nextProvider>
  );
}

createRoot(document.getElementById('root')).render(
  <Provider store={store}>
    <QueryClientProvider client={queryClient}>
      <Themed>
        <SnackbarProvider>
          <BrowserRouter>
            <Layout />
          </BrowserRouter>
        </SnackbarProvider>
      </Themed>
    </QueryClientProvider>
  </Provider>
);
